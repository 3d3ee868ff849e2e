// Bytes per parameter: of weights in each storage format, and of the training states
// (gradients, optimizer) of each precision and optimizer.
#pragma once

#include "core/planner/model_spec.h"
#include "core/planner/plan_settings.h"

#include <string>

namespace lmf::planner {

// Note [Quantized weight formats]
// Only the decoder layers' weight matrices are quantized; embeddings, the output
// projection and norms stay 16-bit, as GPTQ, AWQ and bitsandbytes leave them.
//   int4 (GPTQ/AWQ): 4 bits + one fp16 scale and one 4-bit zero point per group of
//       `group_size` weights: 0.5 + 2.5/g bytes (g = 128: 4.156 bits).
//   NF4 (QLoRA, Dettmers et al. 2023 sec. 3): 4 bits + an absmax per 64 weights, itself
//       quantized to 8 bits with an fp32 constant per 256 blocks ("double quantization"):
//       0.5 + 1/64 + 4/(64*256) bytes (4.127 bits); without it 0.5 + 4/64.
//   int8: 1 byte + a per-row scale (fp16 for weight-only int8, fp32 "SCB" for
//       bitsandbytes' LLM.int8): 1 + 2/h or 1 + 4/h.
//   fp8: 1 byte + an fp32 scale per 128x128 block (DeepSeek-V3's format).
struct WeightBytes {
  double matrices = 2;  // per weight of a decoder-layer matrix
  double other = 2;     // embeddings, output projection, norms, biases, router
  std::string matrices_formula;
};
WeightBytes weight_bytes(const PlanSettings& settings, const ModelSpec& model);

// Note [Training state bytes]
// Per trainable parameter (Rajbhandari et al. 2020, ZeRO sec. 3.1: 2 + 2 + K with K = 12
// for mixed-precision Adam):
//   mixed:  bf16 weights 2, bf16 gradients 2 (4 with fp32 gradient accumulation),
//           fp32 master weights 4 + Adam m and v 8           -> 16 bytes (18)
//   bf16:   weights 2, gradients 2, Adam m and v in bf16 4    -> 8 bytes
//   fp32:   weights 4, gradients 4, Adam 8                    -> 16 bytes
// adamw8bit keeps m and v in 8 bits with an fp32 absmax per 2048 values (bitsandbytes);
// sgd keeps one momentum buffer. LoRA adapters are trained in fp32 (PEFT's default):
// 4 + 4 + 8 = 16 bytes per adapter parameter.
struct StateBytes {
  double weights = 2;  // the working copy the GPU computes with
  double gradients = 2;
  double optimizer = 12;  // master weights (mixed precision) + optimizer states
  std::string optimizer_formula;
};
StateBytes state_bytes(const PlanSettings& settings);

}  // namespace lmf::planner
