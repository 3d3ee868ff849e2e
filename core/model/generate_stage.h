// The builtin stage "model.generate" (and `lmforge generate`): prompts in, completions
// out, through a backend component; concurrent prompts are submitted together so that the
// backend batches them (docs/backend.md).
#pragma once

#include "core/model/model_session.h"
#include "core/pipeline/run_services.h"

#include <nlohmann/json.hpp>

namespace lmf::model {

const nlohmann::json& generate_params_schema();
nlohmann::json run_generate(const nlohmann::json& params, const plugin::PluginRegistry& registry,
                            pipeline::RunServices& services);

}  // namespace lmf::model
