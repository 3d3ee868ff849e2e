#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

// Note [Schema subset]
// Plugins describe their configuration in a subset of JSON Schema draft 2020-12
// (docs/plugin-abi.md): type, properties, required, additionalProperties, items,
// minItems, maxItems, enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// minLength, maxLength, pattern (ECMAScript, matched anywhere in the string), default,
// oneOf, anyOf, $defs and local $ref ("#/$defs/name"); title, description, $comment,
// $schema and examples are accepted and ignored. Anything else is refused, because a
// keyword that is silently ignored is a constraint the plugin author believes holds but
// does not. Unlike plain JSON Schema, "default" is applied: validation writes the default
// of every absent property into the instance, and plugins rely on finding it there.
namespace lmf::config {

struct ValidationIssue {
  std::string pointer;  // RFC 6901, into the validated document
  std::string message;  // says expected vs got

  friend bool operator==(const ValidationIssue&, const ValidationIssue&) = default;
};

// Problems with the schema itself (a plugin bug), each "#<pointer into the schema>: ...":
// unknown or malformed keywords, unresolvable or endlessly looping $ref, patterns that do
// not compile, defaults that do not match their own schema. Empty when usable.
std::vector<std::string> check_schema(const nlohmann::json& schema);

// Validates `instance`, filling in defaults of absent properties (also inside objects
// that a default created), and returns every issue found, not only the first. Pointers
// are `base_pointer` followed by the path inside `instance`. A schema that fails
// check_schema yields one issue per problem at `base_pointer` instead.
std::vector<ValidationIssue> validate(const nlohmann::json& schema, nlohmann::json& instance,
                                      std::string_view base_pointer = "");

}  // namespace lmf::config
