// Typed reading of a run's configuration object (training, quantization): every error
// names the run and the field by its dotted path.
#pragma once

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace lmf::torch_backend::run_config {

using nlohmann::json;


// Typed reads of one JSON object's fields, named by their dotted path in errors:
//   <run>: field "<prefix><field>" must be ...
class Fields {
 public:
  Fields(const json& object, std::string prefix, std::string run)
      : object_(object), prefix_(std::move(prefix)), run_(std::move(run)) {
    if (!object_.is_object()) bad(prefix_.empty() ? "(config)" : prefix_.substr(0, prefix_.size() - 1), "must be an object");
  }
  void only(const std::set<std::string>& known) const {
    for (const auto& [key, value] : object_.items()) {
      if (known.count(key)) continue;
      std::string list;
      for (const std::string& name : known) list += (list.empty() ? "" : ", ") + name;
      bad(prefix_ + key, "is not a field here (known: " + list + ")");
    }
  }
  bool has(const char* field) const { return object_.contains(field) && !object_.at(field).is_null(); }
  std::string text(const char* field, std::string fallback, const std::set<std::string>& allowed = {}) const {
    if (!has(field)) return fallback;
    const json& v = object_.at(field);
    if (!v.is_string()) bad(name(field), "must be a string, not " + v.dump());
    std::string value = v.get<std::string>();
    if (!allowed.empty() && !allowed.count(value)) {
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      bad(name(field), "is \"" + value + "\"; expected one of " + list);
    }
    return value;
  }
  int64_t integer(const char* field, int64_t fallback, int64_t minimum) const {
    if (!has(field)) return fallback;
    const json& v = object_.at(field);
    if (!v.is_number_integer() || v.get<int64_t>() < minimum)
      bad(name(field), "must be an integer ≥ " + std::to_string(minimum) + ", not " + v.dump());
    return v.get<int64_t>();
  }
  double number(const char* field, double fallback, double minimum) const {
    if (!has(field)) return fallback;
    const json& v = object_.at(field);
    if (!v.is_number() || v.get<double>() < minimum)
      bad(name(field), "must be a number ≥ " + std::to_string(minimum) + ", not " + v.dump());
    return v.get<double>();
  }
  bool boolean(const char* field, bool fallback) const {
    if (!has(field)) return fallback;
    const json& v = object_.at(field);
    if (!v.is_boolean()) bad(name(field), "must be true or false, not " + v.dump());
    return v.get<bool>();
  }
  json object(const char* field) const {
    if (!has(field)) return json::object();
    if (!object_.at(field).is_object()) bad(name(field), "must be an object");
    return object_.at(field);
  }
  std::vector<std::string> paths(const char* field) const {
    std::vector<std::string> out;
    if (!has(field)) return out;
    const json& v = object_.at(field);
    if (v.is_string()) return {v.get<std::string>()};
    if (!v.is_array() || v.empty()) bad(name(field), "must be a path or a non-empty list of paths");
    for (const json& item : v) {
      if (!item.is_string()) bad(name(field), "must hold paths (strings), not " + item.dump());
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  std::string name(const char* field) const { return prefix_ + field; }
  [[noreturn]] void bad(const std::string& field, const std::string& what) const {
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, run_ + ": field \"" + field + "\" " + what);
  }

 private:
  const json& object_;
  std::string prefix_;
  std::string run_;
};

}  // namespace lmf::torch_backend::run_config
