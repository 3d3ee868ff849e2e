#include "core/planner/model_info.h"

namespace lmf::planner {

ModelInfo make_model_info(ModelSpec spec, const PlanSettings& settings, Derivation* derivation) {
  ModelInfo info;
  info.params = count_parameters(spec, derivation);
  if (settings.method == Method::lora || settings.method == Method::qlora)
    info.lora = count_lora(spec, settings.lora_targets, settings.lora_rank, derivation);
  info.spec = std::move(spec);
  return info;
}

}  // namespace lmf::planner
