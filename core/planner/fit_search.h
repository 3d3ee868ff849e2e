// The fewest GPUs of one type that hold the plan, searching the parallel degrees the user
// left open.
#pragma once

#include "core/planner/cost_model.h"
#include "core/planner/gpu_catalog.h"
#include "core/planner/layout.h"
#include "core/planner/memory_model.h"
#include "core/planner/model_info.h"
#include "core/planner/plan_settings.h"
#include "core/planner/time_model.h"

#include <optional>
#include <string>

namespace lmf::planner {

struct Evaluation {
  Layout layout;
  MemoryEstimate memory;
  TimeEstimate time;
  CostEstimate cost;
  double capacity = 0;  // bytes per GPU
  bool fits = false;
};

// Memory, time and cost of one layout on one GPU type.
Evaluation evaluate(const ModelInfo& model, const PlanSettings& settings, const Layout& layout,
                    const GpuSpec& gpu, Derivation* derivation = nullptr);

struct GpuResult {
  GpuSpec gpu;
  std::optional<Evaluation> best;  // the fewest GPUs that fit, fastest layout among them
  std::string reason;              // when nothing fits: the closest miss
};

// Note [Fit search]
// For n = 1, 2, ... up to --max-gpus (or just --gpus when given), every layout
// TP x PP x DP = n with the degrees the user fixed kept fixed: TP up to --max-tp (one
// node) and admissible for the model (layout.h), PP up to the layers (or --max-pp), DP
// the rest; for MoE models EP the largest admissible divisor of DP. Inference adds no DP
// replicas unless --dp or --gpus asks (replicas add throughput, not memory). The first n
// with a layout that fits wins; among its layouts the most tokens/s, then the least model
// parallelism (TP x PP), then the shorter pipeline.
GpuResult fewest_gpus(const ModelInfo& model, const PlanSettings& settings, const GpuSpec& gpu);

}  // namespace lmf::planner
