#include "core/services/training_report.h"

#include "core/services/training_report_chart.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <system_error>

namespace lmf::services {
namespace {

using report::escape_html;

constexpr std::string_view kStyle = R"(
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.75em; text-align: left; vertical-align: top; }
figure { display: inline-block; margin: 0 1.5em 1.5em 0; }
figcaption { font-weight: bold; margin-bottom: 0.25em; }
.chart { background: #fff; }
.chart .grid { stroke: #e4e4e4; stroke-width: 1; }
.chart .axis { stroke: #444; stroke-width: 1; fill: none; }
.chart .series { fill: none; stroke-width: 1.5; stroke-linejoin: round; }
.chart .tick, .chart .legend { font-size: 11px; fill: #444; }
.chart .title { font-size: 12px; fill: #222; }
)";

std::string summary_table(const nlohmann::json& summary) {
  if (summary.empty()) return "<p>No summary was given.</p>\n";
  std::string html = "<table>\n";
  for (const auto& [key, value] : summary.items()) {
    const std::string text =
        value.is_string() ? value.get<std::string>()
                          : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    html += "<tr><th>" + escape_html(key) + "</th><td>" + escape_html(text) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

std::string alarm_table(const std::vector<RaisedAlarm>& alarms) {
  if (alarms.empty()) return "<p>No alarm was raised.</p>\n";
  std::string html = "<table>\n<tr><th>metric</th><th>step</th><th>value</th><th>alarm</th></tr>\n";
  for (const RaisedAlarm& alarm : alarms) {
    char value[32];
    std::snprintf(value, sizeof(value), "%g", alarm.value);
    html += "<tr><td>" + escape_html(alarm.metric) + "</td><td>" + std::to_string(alarm.step) +
            "</td><td>" + value + "</td><td>" + escape_html(alarm.reason) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

// Per metric name: value by step, the last record of a step winning.
std::map<std::string, std::map<std::int64_t, double>> series_by_name(
    const std::vector<MetricRecord>& records) {
  std::map<std::string, std::map<std::int64_t, double>> series;
  for (const MetricRecord& record : records) series[record.name][record.step] = record.value;
  return series;
}

std::string charts(const std::vector<MetricRecord>& records) {
  const auto series = series_by_name(records);
  std::string html;
  for (const ReportChart& chart : training_report_charts()) {
    std::vector<report::ChartSeries> lines;
    for (const std::string& metric : chart.metrics) {
      const auto found = series.find(metric);
      if (found == series.end()) continue;
      report::ChartSeries line{metric, {}};
      for (const auto& [step, value] : found->second)
        line.points.emplace_back(static_cast<double>(step), value);
      lines.push_back(std::move(line));
    }
    const std::string svg = report::render_line_chart(chart.y_title, lines);
    if (svg.empty()) continue;
    html +=
        "<figure><figcaption>" + escape_html(chart.title) + "</figcaption>" + svg + "</figure>\n";
  }
  return html.empty() ? "<p>No training metrics were recorded.</p>\n" : html;
}

void write_file_atomically(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::path temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out)
      throw std::runtime_error("cannot write the training report '" + temporary.string() + "'");
  }
  std::error_code renamed;
  std::filesystem::rename(temporary, file, renamed);
  if (renamed) {
    throw std::runtime_error("cannot rename '" + temporary.string() + "' to '" + file.string() +
                             "': " + renamed.message());
  }
}

}  // namespace

const std::vector<ReportChart>& training_report_charts() {
  static const std::vector<ReportChart> charts = {
      {"Loss", "loss", {"train/loss", "eval/loss"}},
      {"Perplexity", "perplexity", {"eval/perplexity"}},
      {"Learning rate", "learning rate", {"train/lr"}},
      {"Gradient norm", "gradient norm", {"train/grad_norm"}},
      {"Throughput", "tokens/s", {"train/tokens_per_s"}},
      {"Model FLOPs utilization", "MFU", {"train/mfu"}},
      {"Memory", "GiB", {"train/memory_gib"}},
      {"GPU utilization", "%", {"gpu/utilization"}},
  };
  return charts;
}

std::string render_training_report(const std::vector<MetricRecord>& records,
                                   const nlohmann::json& summary,
                                   const std::vector<RaisedAlarm>& alarms) {
  if (!summary.is_object()) {
    throw std::invalid_argument("the training report's summary must be a JSON object, got " +
                                std::string(summary.type_name()));
  }
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>Training report</title>\n<style>" + std::string(kStyle) + "</style>\n";
  html += "</head>\n<body>\n<h1>Training report</h1>\n";
  html += "<h2>Summary</h2>\n" + summary_table(summary);
  html += "<h2>Alarms</h2>\n" + alarm_table(alarms);
  html += "<h2>Metrics</h2>\n" + charts(records);
  html += "</body>\n</html>\n";
  return html;
}

void write_training_report(const std::filesystem::path& metrics_jsonl,
                           const nlohmann::json& summary, const std::filesystem::path& html_out,
                           const AlarmTable& table) {
  const std::vector<MetricRecord> records = read_metrics_jsonl(metrics_jsonl);
  TrainingAlarms alarms(table);
  for (const MetricRecord& record : records) alarms.observe(record.name, record.value, record.step);
  write_file_atomically(html_out, render_training_report(records, summary, alarms.raised()));
}

}  // namespace lmf::services
