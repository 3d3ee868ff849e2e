// The builtin stage "model.train" (and `lmforge train CONFIG`): a training run of a
// backend component — on a model folder, or from a new architecture ("init") — with the
// run's metrics, alarms and an HTML report of the loss curves (docs/training.md).
#pragma once

#include "core/pipeline/run_services.h"
#include "core/plugin/component_spec.h"
#include "core/plugin/registry.h"

#include <nlohmann/json.hpp>

namespace lmf::model {

const nlohmann::json& train_params_schema();
std::vector<plugin::SpecIssue> validate_train_params(nlohmann::json& params, const std::string& pointer,
                                                     const plugin::PluginRegistry& registry);
nlohmann::json run_train(const nlohmann::json& params, const plugin::PluginRegistry& registry,
                         pipeline::RunServices& services);

}  // namespace lmf::model
