#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <utility>

#include "core/config/diagnostics.h"
#include "core/config/json_pointer.h"
#include "core/config/schema.h"
#include "core/config/schema_detail.h"

namespace lmf::config {
namespace {

using nlohmann::json;

// Keeps the recursion off the end of the stack. Depth counts levels of the instance only:
// $ref and oneOf/anyOf stay at one level, and check_schema refuses loops among them.
constexpr std::size_t kMaxDepth = 128;

// -1, 0 or 1; exact for integers of either signedness, which doubles are not.
int compare_numbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    const bool a_negative = !a.is_number_unsigned() && a.get<std::int64_t>() < 0;
    const bool b_negative = !b.is_number_unsigned() && b.get<std::int64_t>() < 0;
    if (a_negative != b_negative) return a_negative ? -1 : 1;
    if (a_negative) {
      const auto x = a.get<std::int64_t>(), y = b.get<std::int64_t>();
      return (x > y) - (x < y);
    }
    const auto x = a.get<std::uint64_t>(), y = b.get<std::uint64_t>();
    return (x > y) - (x < y);
  }
  const auto x = a.get<long double>(), y = b.get<long double>();
  return (x > y) - (x < y);
}

// JSON Schema counts characters, not bytes: every byte but UTF-8 continuations.
std::size_t count_characters(const std::string& text) {
  std::size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// "integer", "integer or null", "integer, string or null".
std::string join_alternatives(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

std::vector<std::string> type_names(const json& type) {
  if (type.is_string()) return {type.get<std::string>()};
  return type.get<std::vector<std::string>>();
}

bool type_keyword_admits(const json& type, const json& value) {
  for (const std::string& name : type_names(type)) {
    if (detail::type_admits(name, value)) return true;
  }
  return false;
}

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}

  void check(const json& schema, json& instance, const std::string& pointer, std::size_t depth) {
    if (depth > kMaxDepth) {
      issue(pointer, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
      return;
    }
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) {
        issue(pointer, "no value is allowed here, got " + describe_value(instance));
      }
      return;
    }
    if (const auto type = schema.find("type");
        type != schema.end() && !type_keyword_admits(*type, instance)) {
      // The other keywords would only repeat, less clearly, that the type is wrong.
      issue(pointer, "expected " + join_alternatives(type_names(*type)) + ", got " +
                         describe_value(instance));
      return;
    }
    if (const auto ref = schema.find("$ref"); ref != schema.end()) {
      check(*detail::resolve_ref(root_, ref->get<std::string>()), instance, pointer, depth);
    }
    if (const auto values = schema.find("enum"); values != schema.end()) {
      if (std::find(values->begin(), values->end(), instance) == values->end()) {
        issue(pointer,
              "must be one of " + show_value(*values, SIZE_MAX) + ", got " + show_value(instance));
      }
    }
    if (const auto constant = schema.find("const");
        constant != schema.end() && *constant != instance) {
      issue(pointer, "must be " + show_value(*constant) + ", got " + show_value(instance));
    }
    if (instance.is_object()) check_object(schema, instance, pointer, depth);
    if (instance.is_array()) check_array(schema, instance, pointer, depth);
    if (instance.is_string()) check_string(schema, instance, pointer);
    if (instance.is_number()) check_number(schema, instance, pointer);
    check_alternatives(schema, "anyOf", instance, pointer, depth);
    check_alternatives(schema, "oneOf", instance, pointer, depth);
  }

  std::vector<ValidationIssue> take_issues() { return std::move(issues_); }

 private:
  void issue(const std::string& pointer, std::string message) {
    issues_.push_back({pointer, std::move(message)});
  }

  // Issues that checking against `schema` would report, kept apart from the others.
  std::vector<ValidationIssue> collect(const json& schema, json& instance,
                                       const std::string& pointer, std::size_t depth) {
    std::vector<ValidationIssue> saved = std::exchange(issues_, {});
    check(schema, instance, pointer, depth);
    return std::exchange(issues_, std::move(saved));
  }

  const json* default_of(const json& schema) const {
    if (!schema.is_object()) return nullptr;
    if (const auto value = schema.find("default"); value != schema.end()) return &*value;
    if (const auto ref = schema.find("$ref"); ref != schema.end()) {
      return default_of(*detail::resolve_ref(root_, ref->get<std::string>()));
    }
    return nullptr;
  }

  void check_object(const json& schema, json& instance, const std::string& pointer,
                    std::size_t depth) {
    // Before defaults are filled in: a required field is one the user must write.
    if (const auto required = schema.find("required"); required != schema.end()) {
      for (const json& name : *required) {
        if (!instance.contains(name.get<std::string>())) {
          issue(pointer, "missing required field " + json_quoted(name.get<std::string>()));
        }
      }
    }
    const auto properties = schema.find("properties");
    if (properties != schema.end()) {
      for (auto property = properties->begin(); property != properties->end(); ++property) {
        auto field = instance.find(property.key());
        const std::string child = append_pointer(pointer, property.key());
        if (field != instance.end()) {
          check(property.value(), *field, child, depth + 1);
          continue;
        }
        const json* fallback = default_of(property.value());
        if (fallback == nullptr) continue;
        // A default whose own schema supplies the same default again beneath it would be
        // filled in forever.
        const json* owner = &property.value();
        if (std::find(filling_.begin(), filling_.end(), owner) != filling_.end()) {
          issue(child, "the default would contain itself without end");
          continue;
        }
        field = instance.emplace(property.key(), *fallback).first;
        filling_.push_back(owner);
        check(property.value(), *field, child, depth + 1);
        filling_.pop_back();
      }
    }
    const auto additional = schema.find("additionalProperties");
    if (additional == schema.end() || *additional == json(true)) return;
    for (auto field = instance.begin(); field != instance.end(); ++field) {
      if (properties != schema.end() && properties->contains(field.key())) continue;
      const std::string child = append_pointer(pointer, field.key());
      if (additional->is_boolean()) {
        issue(child, unknown_field_message(field.key(),
                                           properties != schema.end() ? &*properties : nullptr));
      } else {
        check(*additional, field.value(), child, depth + 1);
      }
    }
  }

  static std::string unknown_field_message(const std::string& name, const json* properties) {
    std::vector<std::string> known;
    if (properties != nullptr) {
      for (auto property = properties->begin(); property != properties->end(); ++property) {
        known.push_back(property.key());
      }
    }
    std::string message = "unknown field " + json_quoted(name);
    if (known.empty()) return message + " (this object takes no fields)";
    message += " (known: ";
    for (std::size_t i = 0; i < known.size(); ++i) message += (i > 0 ? ", " : "") + known[i];
    message += ")";
    if (const auto suggestion = closest_name(name, known)) {
      message += "; did you mean " + json_quoted(*suggestion) + "?";
    }
    return message;
  }

  void check_array(const json& schema, json& instance, const std::string& pointer,
                   std::size_t depth) {
    const std::size_t size = instance.size();
    if (const auto min = schema.find("minItems");
        min != schema.end() && size < min->get<std::size_t>()) {
      issue(pointer, "must have at least " + min->dump() + " items, got " + std::to_string(size));
    }
    if (const auto max = schema.find("maxItems");
        max != schema.end() && size > max->get<std::size_t>()) {
      issue(pointer, "must have at most " + max->dump() + " items, got " + std::to_string(size));
    }
    if (const auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < size; ++i) {
        check(*items, instance[i], append_pointer(pointer, i), depth + 1);
      }
    }
  }

  void check_string(const json& schema, const json& instance, const std::string& pointer) {
    const std::string& text = instance.get_ref<const std::string&>();
    const std::size_t length = count_characters(text);
    if (const auto min = schema.find("minLength");
        min != schema.end() && length < min->get<std::size_t>()) {
      issue(pointer, "must be at least " + min->dump() + " characters long, got " +
                         describe_value(instance) + " (" + std::to_string(length) + ")");
    }
    if (const auto max = schema.find("maxLength");
        max != schema.end() && length > max->get<std::size_t>()) {
      issue(pointer, "must be at most " + max->dump() + " characters long, got " +
                         describe_value(instance) + " (" + std::to_string(length) + ")");
    }
    if (const auto pattern = schema.find("pattern"); pattern != schema.end()) {
      const std::string& source = pattern->get_ref<const std::string&>();
      try {
        auto compiled = patterns_.find(source);
        if (compiled == patterns_.end()) {
          compiled = patterns_.emplace(source, std::regex(source, std::regex::ECMAScript)).first;
        }
        if (!std::regex_search(text, compiled->second)) {
          issue(pointer, "must match the pattern " + json_quoted(source) + ", got " +
                             describe_value(instance));
        }
      } catch (const std::regex_error& error) {
        // Only a pathological pattern on a long string gets here (error_complexity).
        issue(pointer, "could not be matched against the pattern " + json_quoted(source) + ": " +
                           error.what());
      }
    }
  }

  void check_number(const json& schema, const json& instance, const std::string& pointer) {
    struct Bound {
      const char* keyword;
      const char* relation;
      bool (*holds)(int comparison);
    };
    static constexpr Bound kBounds[] = {
        {"minimum", ">=", [](int c) { return c >= 0; }},
        {"maximum", "<=", [](int c) { return c <= 0; }},
        {"exclusiveMinimum", ">", [](int c) { return c > 0; }},
        {"exclusiveMaximum", "<", [](int c) { return c < 0; }},
    };
    for (const Bound& bound : kBounds) {
      const auto limit = schema.find(bound.keyword);
      if (limit == schema.end() || bound.holds(compare_numbers(instance, *limit))) continue;
      issue(pointer, std::string("must be ") + bound.relation + " " + limit->dump() + ", got " +
                         instance.dump());
    }
  }

  bool shape_admits(const json& schema, const json& instance, std::size_t depth) const {
    if (schema.is_boolean()) return schema.get<bool>();
    if (const auto type = schema.find("type");
        type != schema.end() && !type_keyword_admits(*type, instance)) {
      return false;
    }
    if (const auto ref = schema.find("$ref"); ref != schema.end() && depth < kMaxDepth) {
      return shape_admits(*detail::resolve_ref(root_, ref->get<std::string>()), instance,
                          depth + 1);
    }
    return true;
  }

  void add_type_names(const json& schema, std::vector<std::string>& names,
                      std::size_t depth) const {
    if (!schema.is_object() || depth >= kMaxDepth) return;
    if (const auto type = schema.find("type"); type != schema.end()) {
      for (std::string& name : type_names(*type)) {
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          names.push_back(std::move(name));
        }
      }
    }
    if (const auto ref = schema.find("$ref"); ref != schema.end()) {
      add_type_names(*detail::resolve_ref(root_, ref->get<std::string>()), names, depth + 1);
    }
  }

  void check_alternatives(const json& schema, const char* keyword, json& instance,
                          const std::string& pointer, std::size_t depth) {
    const auto alternatives = schema.find(keyword);
    if (alternatives == schema.end()) return;
    const bool exactly_one = std::string_view(keyword) == "oneOf";
    std::vector<json> results;
    std::vector<std::vector<ValidationIssue>> issues;
    std::vector<std::size_t> matching;
    for (std::size_t i = 0; i < alternatives->size(); ++i) {
      // Each alternative fills defaults into its own copy; only a match is kept.
      results.push_back(instance);
      issues.push_back(collect((*alternatives)[i], results.back(), pointer, depth));
      if (issues.back().empty()) matching.push_back(i);
    }
    if (matching.size() == 1 || (!exactly_one && !matching.empty())) {
      instance = std::move(results[matching.front()]);
      return;
    }
    if (!matching.empty()) {
      std::string list;
      for (std::size_t i = 0; i < matching.size(); ++i) {
        list += (i > 0 ? ", " : "") + std::to_string(matching[i]);
      }
      issue(pointer,
            "matches more than one alternative of oneOf (" + list + "); it must match exactly one");
      return;
    }
    // Report why the most plausible alternative failed: one that admits the value's type
    // and has the fewest issues. Listing every alternative's issues would bury the one
    // the user meant.
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < alternatives->size(); ++i) {
      if (!shape_admits((*alternatives)[i], instance, depth)) continue;
      if (!best || issues[i].size() < issues[*best].size()) best = i;
    }
    if (best) {
      issues_.insert(issues_.end(), issues[*best].begin(), issues[*best].end());
      return;
    }
    std::vector<std::string> names;
    for (const json& alternative : *alternatives) add_type_names(alternative, names, depth);
    issue(pointer, "expected " + join_alternatives(names) + ", got " + describe_value(instance));
  }

  const json& root_;
  std::vector<ValidationIssue> issues_;
  std::map<std::string, std::regex> patterns_;
  // Property schemas whose default is being filled in on the current path.
  std::vector<const json*> filling_;
};

}  // namespace

namespace detail {

const json* resolve_ref(const json& root, const std::string& ref) {
  if (ref.empty() || ref.front() != '#') return nullptr;
  try {
    const json::json_pointer pointer(ref.substr(1));
    if (!root.contains(pointer)) return nullptr;
    const json& target = root.at(pointer);
    return target.is_object() || target.is_boolean() ? &target : nullptr;
  } catch (const json::exception&) {
    return nullptr;
  }
}

bool type_admits(std::string_view type, const json& value) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  return false;
}

std::vector<ValidationIssue> validate_checked(const json& root, const json& schema, json& instance,
                                              const std::string& pointer) {
  Validator validator(root);
  validator.check(schema, instance, pointer, 0);
  return validator.take_issues();
}

}  // namespace detail

std::vector<ValidationIssue> validate(const json& schema, json& instance,
                                      std::string_view base_pointer) {
  const std::string pointer(base_pointer);
  const std::vector<std::string> problems = check_schema(schema);
  if (problems.empty()) return detail::validate_checked(schema, schema, instance, pointer);
  std::vector<ValidationIssue> issues;
  for (const std::string& problem : problems) {
    issues.push_back(
        {pointer, "invalid schema (a bug in the plugin that publishes it): " + problem});
  }
  return issues;
}

}  // namespace lmf::config
