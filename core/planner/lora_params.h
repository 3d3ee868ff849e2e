// LoRA adapters: r x (in + out) parameters per targeted matrix (Hu et al. 2021), matched
// by module name as PEFT does, so an MoE layer's experts each get their own adapters.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/model_spec.h"

#include <string>
#include <vector>

namespace lmf::planner {

struct LoraCounts {
  double dense_layer = 0;  // adapter parameters in one dense layer
  double moe_layer = 0;    // ... in one MoE layer (all experts)
  double total = 0;
  double active = 0;  // the adapters one token goes through (its experts only)
  // Adapted matrices a token passes through per layer: each keeps an r-wide activation.
  double dense_modules = 0;
  double moe_modules = 0;
};

LoraCounts count_lora(const ModelSpec& model, const std::vector<std::string>& targets, int rank,
                      Derivation* derivation = nullptr);

}  // namespace lmf::planner
