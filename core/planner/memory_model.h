// Memory per GPU for one layout: weights, gradients, optimizer states, activations, KV
// cache and framework overhead, for the fullest pipeline stage; and the host memory that
// ZeRO-Offload takes instead.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/layout.h"
#include "core/planner/model_info.h"
#include "core/planner/plan_settings.h"

#include <cstdint>

namespace lmf::planner {

struct MemoryEstimate {
  double weights = 0;         // model weights (+ LoRA adapters), the GPU's share
  double zero3_gathered = 0;  // ZeRO-3: one layer gathered whole (and its gradient)
  double gradients = 0;
  double optimizer = 0;  // optimizer states, with the fp32 master weights
  double activations = 0;
  double kv_cache = 0;
  double overhead = 0;    // CUDA context, library workspaces, allocator slack
  double host_bytes = 0;  // CPU memory per GPU process (offloaded states)
  int stage = 0;          // the pipeline stage these are for: the fullest
  std::int64_t stage_layers = 0;

  double total() const {
    return weights + zero3_gathered + gradients + optimizer + activations + kv_cache + overhead;
  }
};

// Note [Pipeline stages and memory]
// Each stage holds its layers (the first the embedding, the last the output projection
// and final norm; with tied embeddings and PP > 1 both ends hold the matrix, as in
// Megatron). Under 1F1B scheduling stage k keeps the activations of min(PP - k, m)
// micro-batches in flight (m = gradient-accumulation steps; Narayanan et al. 2021), so the
// first stage keeps the most. The estimate is that of the stage with the largest total.
MemoryEstimate estimate_memory(const ModelInfo& model, const PlanSettings& settings,
                               const Layout& layout, Derivation* derivation = nullptr);

}  // namespace lmf::planner
