#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config/schema.h"

// Shared by schema_check.cpp and schema_validate.cpp; not for use elsewhere.
namespace lmf::config::detail {

// The schema that a local "$ref" names; nullptr when it is not "#" + a pointer to a
// schema inside `root`.
const nlohmann::json* resolve_ref(const nlohmann::json& root, const std::string& ref);

// Whether a type name of Note [Schema subset] admits `value`; 3.0 is not an integer.
bool type_admits(std::string_view type, const nlohmann::json& value);

// Validation proper, for a schema that check_schema accepted; `root` resolves $ref.
std::vector<ValidationIssue> validate_checked(const nlohmann::json& root,
                                              const nlohmann::json& schema,
                                              nlohmann::json& instance, const std::string& pointer);

}  // namespace lmf::config::detail
