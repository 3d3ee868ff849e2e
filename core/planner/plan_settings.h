// What to plan: the method and every knob of it, each with the default the method implies
// (defaults_for). The command line starts from the defaults and sets what the user gives;
// check_settings refuses combinations that cannot run, naming the option.
#pragma once

#include "core/planner/model_spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::planner {

enum class Method { inference, lora, qlora, full, pretrain };
// Weights as stored: inference weights, the frozen base of LoRA, the quantized base of
// QLoRA (int4 = NF4, int8 = LLM.int8 as bitsandbytes stores them).
enum class WeightFormat { fp32, bf16, fp16, fp8, int8, int4 };
// Full fine-tuning: bf16 weights + fp32 master copy ("mixed"), everything bf16, or fp32.
enum class Precision { mixed, bf16, fp32 };
enum class Optimizer { adamw, adamw8bit, sgd };
enum class Checkpointing { none, selective, full };
enum class AttentionImpl { flash, eager };
// Whose training code keeps the activations (Note [Saved tensors], activation_model.h):
// lmforge's own kernels, or transformers + PEFT (hf).
enum class Trainer { lmforge, hf };

// Parallel degrees; 0 means "search" (fit_search) or, for a single evaluation, 1.
struct Parallel {
  int tp = 0;
  int pp = 0;
  int dp = 0;
  int ep = 0;
  int gpus = 0;
};

struct PlanSettings {
  Method method = Method::inference;
  WeightFormat weights = WeightFormat::bf16;
  int group_size = 128;      // int4 inference: weights per scale (GPTQ/AWQ)
  bool double_quant = true;  // QLoRA NF4: quantized quantization constants

  Precision precision = Precision::mixed;
  bool fp32_grads = false;  // gradients accumulated in fp32 (Megatron's default)
  Optimizer optimizer = Optimizer::adamw;
  int lora_rank = 8;
  std::vector<std::string> lora_targets{"q", "k", "v", "o", "gate", "up", "down"};
  // Per element of what the adapters compute in; 0: the trainer's own — lmforge computes
  // them in the activations' dtype (Note [LoRA in the activations' dtype]), PEFT in fp32.
  double adapter_bytes = 0;
  Trainer trainer = Trainer::lmforge;
  int zero = 0;
  bool offload_optimizer = false;
  bool offload_params = false;
  Checkpointing checkpointing = Checkpointing::full;
  AttentionImpl attention = AttentionImpl::flash;
  bool sequence_parallel = true;
  std::int64_t micro_batch = 1;
  std::int64_t seq_len = 2048;
  std::int64_t grad_accum = 1;

  std::int64_t context = 4096;        // inference: tokens per sequence (prompt + output)
  std::int64_t concurrency = 1;       // inference: sequences served at once
  std::int64_t prefill_chunk = 2048;  // inference: tokens run through the model at once
  double kv_bytes = 2;                // per cached element

  Parallel parallel;
  int max_tp = 8;           // tensor parallelism stays inside one 8-GPU node
  std::int64_t max_pp = 0;  // 0: up to the number of layers
  int max_gpus = 1024;

  double tokens = 0;         // token budget: trained tokens, or generated tokens for inference
  double mfu = 0.40;         // fraction of tflops_16bit sustained on the executed FLOPs
  double mbu = 0.60;         // fraction of memory bandwidth sustained while decoding
  double overhead_gb = 1.0;  // CUDA context, library workspaces, allocator slack
  double logits_bytes = 6;   // per logit kept for the loss: bf16 logits + fp32 log-probs
};

bool is_training(Method method);
PlanSettings defaults_for(Method method);

// Names as the command line spells them, and back. parse_* throw PlanError naming
// `option` and listing the choices.
std::string to_string(Method method);
std::string to_string(WeightFormat format);
std::string to_string(Precision precision);
std::string to_string(Optimizer optimizer);
std::string to_string(Checkpointing checkpointing);
std::string to_string(AttentionImpl attention);
std::string to_string(Trainer trainer);
Method parse_method(const std::string& text);
WeightFormat parse_weight_format(const std::string& text, const std::string& option);
Precision parse_precision(const std::string& text);
Optimizer parse_optimizer(const std::string& text);
Checkpointing parse_checkpointing(const std::string& text);
AttentionImpl parse_attention(const std::string& text);
Trainer parse_trainer(const std::string& text);
double parse_kv_dtype(const std::string& text);       // -> bytes per element
double parse_adapter_dtype(const std::string& text);  // -> bytes per element
// "q,k,v,o", "all", "attention", "mlp" -> module names; PlanError on an unknown one.
std::vector<std::string> parse_lora_targets(const std::string& text);

// Refuses what cannot run: a weight format the method does not take, offload without the
// ZeRO stage it needs, a parallel layout that does not fit the model (see layout.h), zero
// or negative sizes. Throws PlanError naming the option.
void check_settings(const PlanSettings& settings, const ModelSpec& model);

}  // namespace lmf::planner
