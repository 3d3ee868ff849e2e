// Shared by the planner's unit tests: fixtures and a one-call plan.
#pragma once

#include "core/planner/gpu_catalog.h"
#include "core/planner/planner.h"
#include "core/planner/presets.h"

#include <filesystem>
#include <string>
#include <vector>

#ifndef LMF_PLANNER_FIXTURES_DIR
#error "LMF_PLANNER_FIXTURES_DIR must name tests/planner/fixtures"
#endif

namespace lmf::planner::test {

inline std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(LMF_PLANNER_FIXTURES_DIR) / name;
}

inline ModelSpec bare(double params) {
  ModelSpec model;
  model.name = "bare";
  model.bare_params = params;
  return model;
}

// One GPU type, layout from the settings (1 x 1 x 1 unless given), optionally explained.
inline Plan plan_on(const ModelSpec& model, const PlanSettings& settings,
                    const std::string& gpu = "a100-80gb", bool explain = false) {
  PlanRequest request;
  request.model = model;
  request.settings = settings;
  request.gpus = {gpu};
  request.explain = explain;
  return make_plan(request, builtin_catalog());
}

// The memory of one layout, without the search.
inline MemoryEstimate memory_of(const ModelSpec& model, const PlanSettings& settings,
                                Layout layout = {}) {
  return estimate_memory(make_model_info(model, settings), settings, layout);
}

inline double gb(double bytes) {
  return bytes / 1e9;
}

}  // namespace lmf::planner::test
