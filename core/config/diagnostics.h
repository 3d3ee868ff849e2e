#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

// Wording shared by every configuration message, so that they all read alike.
namespace lmf::config {

// The JSON Schema name of a value's type: "integer" for JSON integers, "number" for the
// rest, then "string", "boolean", "null", "object", "array".
std::string json_type_name(const nlohmann::json& value);

// The value as compact JSON, cut short past max_length bytes: `"four"`, `3`, `[1,2]`.
std::string show_value(const nlohmann::json& value, std::size_t max_length = 60);

// The type, then the value: `string "four"`, `integer 3`, `null`, `array [1,2]`.
std::string describe_value(const nlohmann::json& value);

// A string as a JSON literal: "a\"b".
std::string json_quoted(std::string_view text);

// The candidate closest to `name` when it is close enough to be a likely typo.
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);

}  // namespace lmf::config
