// A model with everything the planner derives from its shape, computed once per plan.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/lora_params.h"
#include "core/planner/model_spec.h"
#include "core/planner/param_count.h"
#include "core/planner/plan_settings.h"

namespace lmf::planner {

struct ModelInfo {
  ModelSpec spec;
  ParamCounts params;
  LoraCounts lora;  // zero unless the method is LoRA or QLoRA
};

ModelInfo make_model_info(ModelSpec spec, const PlanSettings& settings,
                          Derivation* derivation = nullptr);

}  // namespace lmf::planner
