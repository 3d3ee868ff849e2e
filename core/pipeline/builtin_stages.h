// Stages the host runs itself, without a plugin (e.g. checking the plugin set).
#pragma once

#include "core/pipeline/run_services.h"
#include "core/plugin/registry.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lmf::pipeline {

std::vector<std::string> builtin_stage_names();
// The JSON schema of a builtin stage's "params"; throws std::out_of_range for an unknown name.
const nlohmann::json& builtin_stage_schema(const std::string& name);
// Checks beyond the params schema (e.g. the components a stage names and their configs),
// filling defaults into `params`. Pointers start with `params_pointer`.
struct BuiltinIssue {
  std::string pointer;
  std::string message;
  bool missing_component = false;
};
std::vector<BuiltinIssue> validate_builtin_stage(const std::string& name, nlohmann::json& params,
                                                 const std::string& params_pointer,
                                                 const plugin::PluginRegistry& registry);
// Runs a builtin stage; returns its summary, throws std::runtime_error when it fails.
nlohmann::json run_builtin_stage(const std::string& name, const nlohmann::json& params,
                                 const plugin::PluginRegistry& registry, RunServices& services);

}  // namespace lmf::pipeline
