#include "core/services/metrics_reader.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace lmf::services {
namespace {

double nonfinite_value(const nlohmann::json& line) {
  const std::string marker = line.value("nonfinite", "nan");
  if (marker == "inf") return std::numeric_limits<double>::infinity();
  if (marker == "-inf") return -std::numeric_limits<double>::infinity();
  if (marker == "nan") return std::numeric_limits<double>::quiet_NaN();
  throw std::runtime_error("\"nonfinite\" is \"" + marker + "\", expected nan, inf or -inf");
}

MetricRecord parse_record(const nlohmann::json& line) {
  if (!line.is_object()) throw std::runtime_error("expected a JSON object");
  auto field = [&](const char* key) -> const nlohmann::json& {
    const auto found = line.find(key);
    if (found == line.end()) throw std::runtime_error(std::string("missing \"") + key + "\"");
    return *found;
  };
  MetricRecord record;
  const nlohmann::json& name = field("name");
  const nlohmann::json& step = field("step");
  const nlohmann::json& value = field("value");
  if (!name.is_string()) throw std::runtime_error("\"name\" is not a string");
  if (!step.is_number_integer()) throw std::runtime_error("\"step\" is not an integer");
  if (!value.is_number() && !value.is_null())
    throw std::runtime_error("\"value\" is neither a number nor null");
  record.name = name.get<std::string>();
  record.step = step.get<std::int64_t>();
  record.value = value.is_null() ? nonfinite_value(line) : value.get<double>();
  const auto source = line.find("source");
  if (source != line.end() && source->is_string()) record.source = source->get<std::string>();
  const auto time = line.find("time");
  if (time != line.end() && time->is_number()) record.time = time->get<double>();
  return record;
}

}  // namespace

std::vector<MetricRecord> read_metrics_jsonl(const std::filesystem::path& file) {
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read metrics file '" + file.string() +
                             "': " + std::error_code(errno, std::generic_category()).message());
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  std::vector<MetricRecord> records;
  std::size_t start = 0;
  for (std::size_t number = 1; start < text.size(); ++number) {
    std::size_t end = text.find('\n', start);
    const bool complete = end != std::string::npos;
    if (!complete) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;

    const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_discarded() && !complete) break;  // cut short by a crash
    try {
      if (parsed.is_discarded()) throw std::runtime_error("not valid JSON");
      records.push_back(parse_record(parsed));
    } catch (const std::exception& e) {
      throw std::runtime_error(file.string() + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  return records;
}

}  // namespace lmf::services
