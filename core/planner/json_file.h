// Reading the planner's JSON inputs (config.json, GPU catalogs) with errors that name the
// file, the line and column of a syntax error, or the JSON pointer of a wrong field.
#pragma once

#include "core/config/config_error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lmf::planner {

// Parses the file; throws config::ConfigError (missing, a directory, unreadable, syntax).
nlohmann::json read_json_file(const std::filesystem::path& file);

// Typed access to the fields of one JSON object, for messages such as
//   config.json: /num_attention_heads: expected a positive integer, got string "64"
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string file, std::string pointer = "");

  bool has(const std::string& key) const;                   // present and not null
  std::int64_t positive_int(const std::string& key) const;  // required
  std::optional<std::int64_t> optional_positive_int(const std::string& key) const;
  std::optional<std::int64_t> optional_non_negative_int(const std::string& key) const;
  std::optional<double> optional_positive_number(const std::string& key) const;
  std::optional<double> optional_non_negative_number(const std::string& key) const;
  std::optional<bool> optional_bool(const std::string& key) const;
  std::optional<std::string> optional_string(const std::string& key) const;
  std::vector<std::int64_t> int_list(const std::string& key) const;  // absent or null: empty

  config::ConfigError error(const std::string& key, const std::string& message) const;
  const std::string& file() const { return file_; }
  const nlohmann::json& object() const { return object_; }

 private:
  const nlohmann::json& object_;
  std::string file_;
  std::string pointer_;
};

}  // namespace lmf::planner
