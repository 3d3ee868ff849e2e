// Reads back the JSON Lines file a MetricsSink writes (docs/metrics.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lmf::services {

struct MetricRecord {
  std::string source;
  std::string name;
  double value = 0.0;  // NaN or infinite where the line says "nonfinite"
  std::int64_t step = 0;
  double time = 0.0;
};

// Every record, in file order. "value": null becomes what "nonfinite" names ("nan", "inf",
// "-inf"; NaN when absent). A last line without its newline that does not parse is skipped:
// it is a record cut short by a crash. Throws std::runtime_error "<file>:<line>: <problem>"
// for any other line that is not a record, and naming the file when it cannot be read.
std::vector<MetricRecord> read_metrics_jsonl(const std::filesystem::path& file);

}  // namespace lmf::services
