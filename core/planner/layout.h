// How the GPUs split the work: tensor (TP), pipeline (PP), data (DP) and expert (EP)
// parallel degrees, and which of them a model admits.
#pragma once

#include "core/planner/model_spec.h"
#include "core/planner/plan_settings.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::planner {

struct Layout {
  int tp = 1;
  int pp = 1;
  int dp = 1;
  int ep = 1;  // carved out of DP (Megatron): experts split over EP ranks of a DP group

  int gpus() const { return tp * pp * dp; }
  std::string describe() const;  // "TP 8 x PP 2 x DP 4" (", EP 4" when > 1)
};

// Layers per pipeline stage: balanced, the first stages take one more when PP does not
// divide the layers.
std::vector<std::int64_t> stage_layers(std::int64_t layers, int pp);

// Why a degree cannot split `model`, or "" when it can. The messages lead with the option.
// Tensor parallelism splits attention heads and MLP widths (Megatron); it must divide the
// query heads, the KV heads (inference may replicate KV heads, as vLLM does, when TP is a
// multiple of them) and the MLP widths.
std::string tp_problem(const ModelSpec& model, Method method, int tp);
std::string pp_problem(const ModelSpec& model, int pp);
std::string ep_problem(const ModelSpec& model, int ep, int dp);

// The degrees the user fixed, checked against the model and each other (TP x PP x DP must
// be --gpus). Throws PlanError.
void check_parallel(const PlanSettings& settings, const ModelSpec& model);

}  // namespace lmf::planner
