// How long: FLOPs per token, step time and the time for a token budget at a stated MFU;
// for inference also the memory-bandwidth bound of decoding.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/gpu_catalog.h"
#include "core/planner/layout.h"
#include "core/planner/memory_model.h"
#include "core/planner/model_info.h"
#include "core/planner/plan_settings.h"

namespace lmf::planner {

// Note [FLOPs per token]
// With N the active parameters that take part in matrix multiplications (ParamCounts::
// matmul_active) a token costs 2N FLOPs forward and 4N backward: 6N to train (Kaplan et
// al. 2020), 2N to infer. Attention scores add 2 * s * L * a * (d_qk + d_v) forward
// (QK^T and AV over s positions); training counts them three times (PaLM, Chowdhery et
// al. 2022, app. B: 6N + 12 L H Q T). Inference uses the causal average, s/2 for prefill.
// LoRA skips the weight gradients of the frozen base: 4N + 6 N_lora. Full recomputation
// runs the forward again (+2N + attention); selective recomputes the attention core
// (+attention). MFU here is the fraction of the GPU's dense 16-bit peak sustained on the
// FLOPs actually executed, recomputation included; 0.35-0.55 is typical of Megatron and
// DeepSpeed on A100/H100, 0.2-0.4 of Hugging Face/PEFT fine-tuning.
struct TimeEstimate {
  double model_flops_per_token = 0;      // without recomputation
  double flops_per_token = 0;            // executed, with recomputation
  double peak_flops = 0;                 // per GPU
  double tokens_per_step = 0;            // training: micro-batch x seq x grad-accum x DP
  double step_seconds = 0;               // training: an optimizer step; inference: a decode step
  double tokens_per_second = 0;          // all GPUs of the layout together
  double prefill_tokens_per_second = 0;  // inference
  bool memory_bound = false;             // inference: decode limited by bandwidth
  double bubble = 1;                     // pipeline-bubble factor on step time
  double steps = 0;                      // for the token budget
  double total_seconds = 0;              // for the token budget; 0 without one
};

TimeEstimate estimate_time(const ModelInfo& model, const PlanSettings& settings,
                           const Layout& layout, const GpuSpec& gpu, const MemoryEstimate& memory,
                           Derivation* derivation = nullptr);

}  // namespace lmf::planner
