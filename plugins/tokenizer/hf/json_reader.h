// Reading tokenizer.json's fields with messages that name the file and the field
// ("<file>: pre_tokenizer.pretokenizers[1].behavior: expected ...").
#pragma once

#include "regex.h"

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace lmf::tokenizers::hf {

using Json = nlohmann::json;

// Reads fields of one JSON document; every message starts with the file and the field.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void data_error(const std::string& where, const std::string& what) const {
    lmf::sdk::fail(LMF_ERR_DATA, file_ + ": " + where + ": " + what);
  }
  [[noreturn]] void unsupported(const std::string& where, const std::string& type,
                                const std::string& supported) const {
    lmf::sdk::fail(LMF_ERR_UNSUPPORTED,
                   file_ + ": " + where + " \"" + type +
                       "\" is not supported by the hf tokenizer (supported: " + supported + ")");
  }

  const Json& object(const Json& value, const std::string& where) const {
    if (!value.is_object()) data_error(where, "expected an object, got " + describe(value));
    return value;
  }
  const Json& array(const Json& value, const std::string& where) const {
    if (!value.is_array()) data_error(where, "expected an array, got " + describe(value));
    return value;
  }
  const Json& field(const Json& parent, const char* key, const std::string& where) const {
    const auto found = parent.find(key);
    if (found == parent.end()) data_error(where, std::string("missing field \"") + key + "\"");
    return *found;
  }
  std::string string(const Json& parent, const char* key, const std::string& where) const {
    const Json& value = field(parent, key, where);
    if (!value.is_string())
      data_error(where + "." + key, "expected a string, got " + describe(value));
    return value.get<std::string>();
  }
  // An optional string: absent and null give nullopt.
  std::optional<std::string> optional_string(const Json& parent, const char* key,
                                             const std::string& where) const {
    const auto found = parent.find(key);
    if (found == parent.end() || found->is_null()) return std::nullopt;
    if (!found->is_string())
      data_error(where + "." + key, "expected a string or null, got " + describe(*found));
    return found->get<std::string>();
  }
  bool boolean(const Json& parent, const char* key, const std::string& where, bool fallback) const {
    const auto found = parent.find(key);
    if (found == parent.end() || found->is_null()) return fallback;
    if (!found->is_boolean())
      data_error(where + "." + key, "expected true or false, got " + describe(*found));
    return found->get<bool>();
  }
  int64_t integer(const Json& parent, const char* key, const std::string& where,
                  int64_t fallback) const {
    const auto found = parent.find(key);
    if (found == parent.end() || found->is_null()) return fallback;
    if (!found->is_number_integer())
      data_error(where + "." + key, "expected an integer, got " + describe(*found));
    return found->get<int64_t>();
  }
  int32_t id(const Json& value, const std::string& where) const {
    if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > INT32_MAX)
      data_error(where,
                 "expected a token id (an integer from 0 to 2^31-1), got " + describe(value));
    return static_cast<int32_t>(value.get<int64_t>());
  }
  std::string type_of(const Json& value, const std::string& where) const {
    object(value, where);
    return string(value, "type", where);
  }

  static std::string describe(const Json& value) {
    std::string text = value.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    return text;
  }

  // A "pattern" of Split, Replace: {"String": "..."} or {"Regex": "..."}.
  std::unique_ptr<Regex> pattern(const Json& parent, const std::string& where) const {
    const std::string at = where + ".pattern";
    const Json& value = object(field(parent, "pattern", where), at);
    std::string text;
    bool literal = false;
    if (const auto found = value.find("String"); found != value.end() && found->is_string()) {
      text = found->get<std::string>();
      literal = true;
    } else if (const auto regex = value.find("Regex"); regex != value.end() && regex->is_string()) {
      text = regex->get<std::string>();
    } else {
      data_error(at, "expected {\"String\": ...} or {\"Regex\": ...}, got " + describe(value));
    }
    try {
      return std::make_unique<Regex>(literal ? escape_regex(text) : text);
    } catch (const std::invalid_argument& e) {
      data_error(at, e.what());
    }
  }

 private:
  std::string file_;
};

}  // namespace lmf::tokenizers::hf
