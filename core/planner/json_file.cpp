#include "core/planner/json_file.h"

#include "core/config/diagnostics.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

namespace lmf::planner {

using config::ConfigError;
using nlohmann::json;
namespace fs = std::filesystem;

json read_json_file(const fs::path& file) {
  const std::string name = file.string();
  std::error_code ignored;
  const fs::file_status status = fs::status(file, ignored);
  if (!fs::exists(status)) throw ConfigError(name, "", "no such file");
  if (fs::is_directory(status)) throw ConfigError(name, "", "is a directory, not a JSON file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(name, "", "cannot open the file for reading");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return json::parse(text);
  } catch (const json::parse_error& error) {
    // nlohmann counts bytes read; editors want the 1-based line and column that failed.
    const std::size_t at = std::min(error.byte == 0 ? 0 : error.byte - 1, text.size());
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
    const std::size_t line_start = at == 0 ? std::string::npos : text.rfind('\n', at - 1);
    const std::size_t column = line_start == std::string::npos ? at + 1 : at - line_start;
    std::string message = error.what();
    const std::size_t colon = message.find(": ", message.find("parse error"));
    if (colon != std::string::npos) message = message.substr(colon + 2);
    throw ConfigError(name, static_cast<int>(line), static_cast<int>(column), message);
  }
}

JsonFields::JsonFields(const json& object, std::string file, std::string pointer)
    : object_(object), file_(std::move(file)), pointer_(std::move(pointer)) {}

bool JsonFields::has(const std::string& key) const {
  const auto found = object_.find(key);
  return found != object_.end() && !found->is_null();
}

ConfigError JsonFields::error(const std::string& key, const std::string& message) const {
  return ConfigError(file_, pointer_ + "/" + key, message);
}

namespace {

bool integral(const json& value) {
  if (value.is_number_integer()) return true;
  return value.is_number_float() && std::floor(value.get<double>()) == value.get<double>() &&
         std::fabs(value.get<double>()) < 9e15;
}

}  // namespace

std::optional<std::int64_t> JsonFields::optional_non_negative_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  const json& value = object_.at(key);
  if (!integral(value) || value.get<double>() < 0)
    throw error(key, "expected a non-negative integer, got " + config::describe_value(value));
  return static_cast<std::int64_t>(value.get<double>());
}

std::optional<std::int64_t> JsonFields::optional_positive_int(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  const json& value = object_.at(key);
  if (!integral(value) || value.get<double>() < 1)
    throw error(key, "expected a positive integer, got " + config::describe_value(value));
  return static_cast<std::int64_t>(value.get<double>());
}

std::int64_t JsonFields::positive_int(const std::string& key) const {
  if (!has(key)) throw error(key, "missing (a positive integer is required)");
  return *optional_positive_int(key);
}

std::optional<double> JsonFields::optional_positive_number(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  const json& value = object_.at(key);
  if (!value.is_number() || !(value.get<double>() > 0))
    throw error(key, "expected a positive number, got " + config::describe_value(value));
  return value.get<double>();
}

std::optional<double> JsonFields::optional_non_negative_number(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  const json& value = object_.at(key);
  if (!value.is_number() || value.get<double>() < 0)
    throw error(key, "expected a non-negative number, got " + config::describe_value(value));
  return value.get<double>();
}

std::optional<bool> JsonFields::optional_bool(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  const json& value = object_.at(key);
  if (!value.is_boolean())
    throw error(key, "expected a boolean, got " + config::describe_value(value));
  return value.get<bool>();
}

std::optional<std::string> JsonFields::optional_string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  const json& value = object_.at(key);
  if (!value.is_string())
    throw error(key, "expected a string, got " + config::describe_value(value));
  return value.get<std::string>();
}

std::vector<std::int64_t> JsonFields::int_list(const std::string& key) const {
  std::vector<std::int64_t> list;
  if (!has(key)) return list;
  const json& value = object_.at(key);
  if (!value.is_array())
    throw error(key, "expected an array of integers, got " + config::describe_value(value));
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!integral(value[i]) || value[i].get<double>() < 0)
      throw ConfigError(file_, pointer_ + "/" + key + "/" + std::to_string(i),
                        "expected a non-negative integer, got " + config::describe_value(value[i]));
    list.push_back(static_cast<std::int64_t>(value[i].get<double>()));
  }
  return list;
}

}  // namespace lmf::planner
