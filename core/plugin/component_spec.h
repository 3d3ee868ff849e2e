// Checking the {"component": NAME, "config": {...}} objects by which builtin stages name
// the components they use, before any stage runs.
#pragma once

#include "core/plugin/registry.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace lmf::plugin {

struct SpecIssue {
  std::string pointer;  // JSON pointer of the field at fault
  std::string message;
  bool missing_component = false;  // the component is not loaded (exit code 4)
};

// For each (field, kind): when params[field] names a component, it must be loaded with
// that kind, and its "config" ({} when absent) must match the component's schema; the
// schema's defaults are filled in. Pointers are under `params_pointer`.
std::vector<SpecIssue> validate_component_specs(
    nlohmann::json& params, const std::string& params_pointer,
    std::initializer_list<std::pair<const char*, lmf_kind>> fields, const PluginRegistry& registry);

}  // namespace lmf::plugin
