// The builtin stage "model.quantize" (and `lmforge quantize CONFIG`): a model folder
// quantized by a quantizer plugin through a backend that calibrates it layer by layer,
// written as a folder the backend loads again (docs/quantization.md).
#pragma once

#include "core/pipeline/run_services.h"
#include "core/plugin/component_spec.h"
#include "core/plugin/registry.h"

#include <nlohmann/json.hpp>

namespace lmf::model {

const nlohmann::json& quantize_params_schema();
std::vector<plugin::SpecIssue> validate_quantize_params(nlohmann::json& params, const std::string& pointer,
                                                        const plugin::PluginRegistry& registry);
nlohmann::json run_quantize(const nlohmann::json& params, const plugin::PluginRegistry& registry,
                            pipeline::RunServices& services);

}  // namespace lmf::model
