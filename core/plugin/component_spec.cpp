#include "core/plugin/component_spec.h"

#include "core/config/schema.h"

#include <optional>

namespace lmf::plugin {

std::vector<SpecIssue> validate_component_specs(
    nlohmann::json& params, const std::string& params_pointer,
    std::initializer_list<std::pair<const char*, lmf_kind>> fields, const PluginRegistry& registry) {
  std::vector<SpecIssue> issues;
  for (const auto& [field, kind] : fields) {
    if (!params.contains(field) || !params[field].is_object() || !params[field].contains("component")) continue;
    const std::string pointer = params_pointer + "/" + field;
    std::optional<ComponentRef> ref;
    try {
      ref = registry.require(kind, params[field]["component"].get<std::string>());
    } catch (const std::exception& e) {
      issues.push_back({pointer + "/component", e.what(), true});
      continue;
    }
    if (!params[field].contains("config")) params[field]["config"] = nlohmann::json::object();
    for (const config::ValidationIssue& issue :
         config::validate(nlohmann::json::parse(ref->schema()), params[field]["config"], pointer + "/config"))
      issues.push_back({issue.pointer, issue.message, false});
  }
  return issues;
}

}  // namespace lmf::plugin
