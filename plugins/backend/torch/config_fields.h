// Typed reading of config.json fields; every error names the file and the field.
#pragma once

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace lmf::torch_backend {

using nlohmann::json;
using sdk::fail;

class FieldReader {
 public:
  FieldReader(const json& object, std::string origin)
      : object_(object), origin_(std::move(origin)) {}

  int64_t positive_int(const char* field) const {
    const json& value = required(field);
    if (!value.is_number_integer() || value.get<int64_t>() <= 0)
      bad(field, "must be a positive integer, not " + value.dump());
    return value.get<int64_t>();
  }
  int64_t int_or(const char* field, int64_t fallback) const {
    if (!present(field)) return fallback;
    const json& value = object_.at(field);
    if (!value.is_number_integer() || value.get<int64_t>() <= 0)
      bad(field, "must be a positive integer, not " + value.dump());
    return value.get<int64_t>();
  }
  double number_or(const char* field, double fallback) const {
    if (!present(field)) return fallback;
    const json& value = object_.at(field);
    if (!value.is_number()) bad(field, "must be a number, not " + value.dump());
    return value.get<double>();
  }
  bool bool_or(const char* field, bool fallback) const {
    if (!present(field)) return fallback;
    const json& value = object_.at(field);
    if (!value.is_boolean()) bad(field, "must be true or false, not " + value.dump());
    return value.get<bool>();
  }
  std::string string_or(const char* field, std::string fallback) const {
    if (!present(field)) return fallback;
    const json& value = object_.at(field);
    if (!value.is_string()) bad(field, "must be a string, not " + value.dump());
    return value.get<std::string>();
  }
  bool present(const char* field) const {
    return object_.contains(field) && !object_.at(field).is_null();
  }
  const json& required(const char* field) const {
    if (!present(field)) bad(field, "is missing");
    return object_.at(field);
  }
  [[noreturn]] void bad(const std::string& field, const std::string& what) const {
    fail(LMF_ERR_DATA, origin_ + ": field \"" + field + "\" " + what);
  }

 private:
  const json& object_;
  std::string origin_;
};

}  // namespace lmf::torch_backend
