// The training report: one self-contained HTML file with the run's curves, its summary and
// the alarms raised (docs/metrics.md).
#pragma once

#include "core/services/metrics_reader.h"
#include "core/services/training_alarms.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::services {

// A chart of the report: the metrics drawn on it, in legend order.
struct ReportChart {
  std::string title;
  std::string y_title;
  std::vector<std::string> metrics;
};

// Loss (train/loss with eval/loss), perplexity, learning rate, gradient norm, tokens/s, MFU,
// memory, GPU utilization. A chart none of whose metrics was recorded is left out.
const std::vector<ReportChart>& training_report_charts();

// The HTML document: the summary (a JSON object, e.g. method, model, steps, final losses,
// time) as a table, the alarms, then one inline SVG chart per entry of
// training_report_charts() (Note [Chart geometry]). Where a step was recorded more than
// once (a resumed run), the last record counts. No scripts, styles, fonts or images from
// outside the file. Throws std::invalid_argument when `summary` is not an object.
std::string render_training_report(const std::vector<MetricRecord>& records,
                                   const nlohmann::json& summary,
                                   const std::vector<RaisedAlarm>& alarms);

// Reads a MetricsSink's JSON Lines file (read_metrics_jsonl), replays it through the alarm
// `table` to list the alarms the run raised, and writes render_training_report's document
// to `html_out` through a temporary file and a rename, so a reader never sees half a
// report. Throws std::runtime_error naming the file that cannot be read or written.
void write_training_report(const std::filesystem::path& metrics_jsonl,
                           const nlohmann::json& summary, const std::filesystem::path& html_out,
                           const AlarmTable& table = seed_alarm_table());

}  // namespace lmf::services
