// check_schema, declared in schema.h (Note [Schema subset]).
#include <map>
#include <regex>
#include <set>

#include "core/config/diagnostics.h"
#include "core/config/json_pointer.h"
#include "core/config/schema.h"
#include "core/config/schema_detail.h"

namespace lmf::config {
namespace {

using nlohmann::json;

const std::vector<std::string>& known_keywords() {
  static const std::vector<std::string> keywords = {"type",
                                                    "properties",
                                                    "required",
                                                    "additionalProperties",
                                                    "items",
                                                    "minItems",
                                                    "maxItems",
                                                    "enum",
                                                    "const",
                                                    "minimum",
                                                    "maximum",
                                                    "exclusiveMinimum",
                                                    "exclusiveMaximum",
                                                    "minLength",
                                                    "maxLength",
                                                    "pattern",
                                                    "default",
                                                    "description",
                                                    "title",
                                                    "oneOf",
                                                    "anyOf",
                                                    "$defs",
                                                    "$ref",
                                                    "$comment",
                                                    "$schema",
                                                    "examples"};
  return keywords;
}

bool is_count(const json& value) {
  return value.is_number_unsigned() ||
         (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

class SchemaChecker {
 public:
  explicit SchemaChecker(const json& root) : root_(root) {}

  void check(const json& schema, const std::string& pointer) {
    if (schema.is_boolean()) return;
    if (!schema.is_object()) {
      problem(pointer, "a schema must be an object or a boolean, got " + describe_value(schema));
      return;
    }
    for (auto keyword = schema.begin(); keyword != schema.end(); ++keyword) {
      check_keyword(keyword.key(), keyword.value(), append_pointer(pointer, keyword.key()));
    }
    check_bounds(schema, pointer);
    check_required_is_possible(schema, pointer);
    if (schema.contains("$ref")) refs_.push_back({pointer, &schema});
    if (schema.contains("default")) defaults_.push_back({pointer, &schema});
  }

  // A $ref that reaches itself again without descending into the instance would make
  // validation loop forever; recursion through properties or items is fine.
  void check_ref_cycles() {
    std::map<std::string, int> state;
    std::vector<std::string> path;
    for (const Located& ref : refs_) visit(ref.pointer, *ref.schema, state, path);
  }

  void check_defaults() {
    for (const Located& located : defaults_) {
      json value = located.schema->at("default");
      for (const ValidationIssue& issue :
           detail::validate_checked(root_, *located.schema, value, "")) {
        problem(located.pointer + "/default",
                "the default does not match its own schema: " +
                    (issue.pointer.empty() ? "" : issue.pointer + ": ") + issue.message);
      }
    }
  }

  bool ok() const { return problems_.empty(); }
  std::vector<std::string> take_problems() { return std::move(problems_); }

 private:
  struct Located {
    std::string pointer;
    const json* schema;
  };

  void problem(const std::string& pointer, std::string message) {
    problems_.push_back("#" + pointer + ": " + std::move(message));
  }

  void check_keyword(const std::string& keyword, const json& value, const std::string& pointer) {
    if (keyword == "type") {
      check_type(value, pointer);
    } else if (keyword == "properties" || keyword == "$defs") {
      if (!value.is_object()) {
        return problem(pointer, "expected an object of schemas, got " + describe_value(value));
      }
      for (auto entry = value.begin(); entry != value.end(); ++entry) {
        check(entry.value(), append_pointer(pointer, entry.key()));
      }
    } else if (keyword == "required") {
      check_required(value, pointer);
    } else if (keyword == "additionalProperties") {
      check(value, pointer);
    } else if (keyword == "items") {
      if (value.is_array()) {
        return problem(pointer, "must be one schema; the array (tuple) form is not supported");
      }
      check(value, pointer);
    } else if (keyword == "minItems" || keyword == "maxItems" || keyword == "minLength" ||
               keyword == "maxLength") {
      if (!is_count(value)) {
        problem(pointer, "expected a non-negative integer, got " + describe_value(value));
      }
    } else if (keyword == "minimum" || keyword == "maximum" || keyword == "exclusiveMinimum" ||
               keyword == "exclusiveMaximum") {
      if (!value.is_number()) problem(pointer, "expected a number, got " + describe_value(value));
    } else if (keyword == "enum") {
      if (!value.is_array() || value.empty()) {
        problem(pointer, "expected a non-empty array, got " + describe_value(value));
      }
    } else if (keyword == "pattern") {
      check_pattern(value, pointer);
    } else if (keyword == "oneOf" || keyword == "anyOf") {
      if (!value.is_array() || value.empty()) {
        return problem(pointer,
                       "expected a non-empty array of schemas, got " + describe_value(value));
      }
      for (std::size_t i = 0; i < value.size(); ++i) check(value[i], append_pointer(pointer, i));
    } else if (keyword == "$ref") {
      check_ref(value, pointer);
    } else if (keyword == "description" || keyword == "title" || keyword == "$comment" ||
               keyword == "$schema") {
      if (!value.is_string()) problem(pointer, "expected a string, got " + describe_value(value));
    } else if (keyword == "examples") {
      if (!value.is_array()) problem(pointer, "expected an array, got " + describe_value(value));
    } else if (keyword != "const" && keyword != "default") {
      std::string message = "unknown keyword " + json_quoted(keyword);
      if (const auto suggestion = closest_name(keyword, known_keywords())) {
        message += "; did you mean " + json_quoted(*suggestion) + "?";
      }
      problem(pointer, message + " (supported: the subset in Note [Schema subset])");
    }
  }

  void check_type(const json& value, const std::string& pointer) {
    static const std::set<std::string> kNames = {"object", "array",   "string", "integer",
                                                 "number", "boolean", "null"};
    auto check_name = [&](const json& name, const std::string& at) {
      if (!name.is_string() || !kNames.contains(name.get<std::string>())) {
        problem(at, "expected one of object, array, string, integer, number, boolean, null, got " +
                        describe_value(name));
      }
    };
    if (!value.is_array()) return check_name(value, pointer);
    if (value.empty()) return problem(pointer, "expected at least one type, got an empty array");
    for (std::size_t i = 0; i < value.size(); ++i) {
      check_name(value[i], append_pointer(pointer, i));
      for (std::size_t j = 0; j < i; ++j) {
        if (value[j] == value[i]) problem(append_pointer(pointer, i), "repeats " + value[i].dump());
      }
    }
  }

  void check_required(const json& value, const std::string& pointer) {
    if (!value.is_array()) {
      return problem(pointer, "expected an array of strings, got " + describe_value(value));
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string()) {
        problem(append_pointer(pointer, i), "expected a string, got " + describe_value(value[i]));
      }
    }
  }

  // A required field that additionalProperties forbids can never be supplied.
  void check_required_is_possible(const json& schema, const std::string& pointer) {
    const auto required = schema.find("required");
    const auto additional = schema.find("additionalProperties");
    if (required == schema.end() || !required->is_array() || additional == schema.end() ||
        *additional != json(false)) {
      return;
    }
    const auto properties = schema.find("properties");
    for (std::size_t i = 0; i < required->size(); ++i) {
      const json& name = (*required)[i];
      if (!name.is_string()) continue;
      if (properties != schema.end() && properties->is_object() &&
          properties->contains(name.get<std::string>())) {
        continue;
      }
      problem(
          append_pointer(append_pointer(pointer, "required"), i),
          "required field " + name.dump() +
              " is not in properties and additionalProperties is false, so no value can be valid");
    }
  }

  // A lower bound above its upper bound admits nothing: certainly a typo.
  void check_bounds(const json& schema, const std::string& pointer) {
    static const std::pair<const char*, const char*> kPairs[] = {
        {"minimum", "maximum"}, {"minItems", "maxItems"}, {"minLength", "maxLength"}};
    for (const auto& [low, high] : kPairs) {
      const auto min = schema.find(low);
      const auto max = schema.find(high);
      if (min == schema.end() || max == schema.end() || !min->is_number() || !max->is_number()) {
        continue;
      }
      if (min->get<long double>() > max->get<long double>()) {
        problem(append_pointer(pointer, low), std::string(low) + " " + min->dump() +
                                                  " is greater than " + high + " " + max->dump());
      }
    }
  }

  void check_pattern(const json& value, const std::string& pointer) {
    if (!value.is_string()) {
      return problem(pointer, "expected a string, got " + describe_value(value));
    }
    try {
      std::regex(value.get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error& error) {
      problem(pointer,
              "is not a valid ECMAScript regular expression: " + std::string(error.what()));
    }
  }

  void check_ref(const json& value, const std::string& pointer) {
    if (!value.is_string()) {
      return problem(pointer, "expected a string, got " + describe_value(value));
    }
    const std::string& ref = value.get_ref<const std::string&>();
    if (ref.empty() || ref.front() != '#') {
      return problem(pointer, "only local references such as \"#/$defs/name\" are supported, got " +
                                  json_quoted(ref));
    }
    if (detail::resolve_ref(root_, ref) == nullptr) {
      problem(pointer, json_quoted(ref) + " does not name a schema in this document");
    }
  }

  void visit(const std::string& pointer, const json& schema, std::map<std::string, int>& state,
             std::vector<std::string>& path) {
    constexpr int kVisiting = 1, kDone = 2;
    int& mark = state[pointer];
    if (mark == kDone) return;
    if (mark == kVisiting) {
      std::string cycle;
      for (auto it = std::find(path.begin(), path.end(), pointer); it != path.end(); ++it) {
        cycle += "#" + *it + " -> ";
      }
      problem(path.back(), "this schema refers back to itself without descending into the value: " +
                               cycle + "#" + pointer);
      return;
    }
    mark = kVisiting;
    path.push_back(pointer);
    if (schema.is_object()) {
      if (const auto ref = schema.find("$ref"); ref != schema.end()) {
        const std::string& target = ref->get_ref<const std::string&>();
        visit(target.substr(1), *detail::resolve_ref(root_, target), state, path);
      }
      for (const char* keyword : {"oneOf", "anyOf"}) {
        const auto alternatives = schema.find(keyword);
        if (alternatives == schema.end()) continue;
        const std::string at = append_pointer(pointer, keyword);
        for (std::size_t i = 0; i < alternatives->size(); ++i) {
          visit(append_pointer(at, i), (*alternatives)[i], state, path);
        }
      }
    }
    path.pop_back();
    state[pointer] = kDone;
  }

  const json& root_;
  std::vector<std::string> problems_;
  std::vector<Located> refs_;
  std::vector<Located> defaults_;
};

}  // namespace

std::vector<std::string> check_schema(const json& schema) {
  SchemaChecker checker(schema);
  checker.check(schema, "");
  // Both later passes follow $ref and validate, which assume a well-formed schema.
  if (checker.ok()) checker.check_ref_cycles();
  if (checker.ok()) checker.check_defaults();
  return checker.take_problems();
}

}  // namespace lmf::config
