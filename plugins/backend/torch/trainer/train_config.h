// The configuration of one training run (`lmforge train CONFIG`, the `model.train`
// stage, the backend vtable's `train`): method, objective, data, batch shape, optimizer,
// schedule, checkpoints. Every field is checked before any work; errors name the field.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::torch_backend {

// Where training (or evaluation) examples come from.
struct DataSpec {
  std::string shards;              // a `data prepare` folder (causal LM), or
  std::string split = "train";     //   its split
  std::vector<std::string> jsonl;  // JSON Lines files (sft: prompt/response or messages; dpo: prompt/chosen/rejected)
  bool empty() const { return shards.empty() && jsonl.empty(); }
};

struct TrainConfig {
  std::string method = "full";          // full | lora | qlora (LoRA beside a base quantized on load)
  std::string objective = "causal_lm";  // causal_lm | sft | dpo
  std::string output;                   // run folder: checkpoints/, final model or adapter
  nlohmann::json init;                  // an architecture to start from random weights (else the loaded model)

  DataSpec train_data;
  DataSpec eval_data;  // empty: the shards' validation split when training on shards, else none

  int64_t seq_length = 512;
  int64_t micro_batch = 4;
  int64_t gradient_accumulation = 1;
  int64_t max_steps = 0;  // optimizer steps; 0: `epochs` passes over the data
  double epochs = 1.0;

  nlohmann::json optimizer = nlohmann::json::object();  // AdamWSettings::from_json
  nlohmann::json schedule = nlohmann::json::object();   // LrSchedule::from_json
  double max_grad_norm = 1.0;  // 0: no clipping
  nlohmann::json lora = nlohmann::json::object();       // LoraSettings::from_json (methods lora, qlora)
  // method qlora: the load option quantize_on_load for the base (Note [Quantized on load]),
  // {"quantizer": "nf4", "config": {}} unless given.
  nlohmann::json quantization = {{"quantizer", "nf4"}, {"config", nlohmann::json::object()}};
  bool merge_lora = false;     // also write the merged full model (output/merged)

  std::string precision = "auto";  // auto (bf16 on CUDA, fp32 on the CPU) | fp32 | bf16
  bool activation_checkpointing = false;
  int64_t loss_chunk_tokens = 4096;  // rows of the LM head computed at once (Note [Loss without the logits])

  std::string chat_template = "auto";  // sft/dpo: auto | plain | chatml | llama3 | deepseek
  double dpo_beta = 0.1;

  int64_t eval_every = 0;      // optimizer steps between evaluations; 0: at the end only
  int64_t eval_batches = 0;    // micro-batches per evaluation; 0: the whole eval set
  int64_t save_every = 0;      // optimizer steps between checkpoints; 0: at the end only
  int64_t keep_checkpoints = 2;
  int64_t log_every = 1;
  bool resume = true;          // continue from the latest checkpoint in output/checkpoints
  uint64_t seed = 0;
  double peak_tflops = 0;      // for MFU; 0: from the device's name where known

  static TrainConfig from_json(const nlohmann::json& config);
  // The fields a resumed run must share with the run it continues.
  nlohmann::json fingerprint() const;
};

}  // namespace lmf::torch_backend
