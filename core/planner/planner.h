// `lmforge plan` as a library call: a model, a method and a GPU catalog in, memory per
// GPU, whether it fits, the fewest GPUs of each type, time and cost out.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/fit_search.h"
#include "core/planner/gpu_catalog.h"
#include "core/planner/model_info.h"
#include "core/planner/plan_settings.h"

#include <optional>
#include <string>
#include <vector>

namespace lmf::planner {

struct PlanRequest {
  ModelSpec model;
  PlanSettings settings;
  std::vector<std::string> gpus;  // catalog names; empty: every GPU of the catalog
  bool explain = false;
};

struct Plan {
  ModelInfo model;
  PlanSettings settings;
  std::vector<GpuSpec> gpus;  // the GPUs considered, in catalog order

  // The layout the breakdown is for: with one GPU type, the layout the search chose for it
  // (the fewest GPUs that fit, keeping the degrees given); otherwise the degrees given, 1
  // where not.
  Layout layout;
  bool layout_searched = false;  // the GPU count was searched, not given
  MemoryEstimate memory;
  // Time and cost at `layout`, when exactly one GPU type is asked.
  std::optional<Evaluation> primary;

  std::vector<GpuResult> search;  // one per GPU
  Derivation derivation;          // filled when explain is asked
  std::vector<std::string> assumptions;
  std::vector<std::string> warnings;
};

// Throws PlanError when the request cannot be planned (check_settings, unknown GPUs).
Plan make_plan(const PlanRequest& request, const GpuCatalog& catalog);

}  // namespace lmf::planner
