// Renders a data source report (the JSON of lmf_data_source_vtable::report, docs/data.md
// "The report") as a table for people. Header-only, depends on nlohmann_json alone, so a
// host command (`lmforge data prepare`) can include it and print the same table.
//
//   jsonl: 1200 records in, 1130 out, 70 dropped; 2.10 MB in, 1.98 MB out
//   stage                changed  dropped  reasons
//   read                       1        3  malformed_json 1, missing_field 1, oversized 1, ...
//   pii_mask                  12        0  email 7, phone 3, card 1, cn_id 1
//   exact_dedup                0       67  duplicate 67
//   input problems: 3 (3 listed)
//     data/a.jsonl:7  malformed JSON: syntax error while parsing value ...
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

namespace lmf::data {

inline std::string format_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000.0 && unit < 4) {
    bytes /= 1000.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
  return text;
}

inline std::string render_report_table(const nlohmann::json& report) {
  auto number = [](const nlohmann::json& object, const char* key) -> uint64_t {
    const auto it = object.find(key);
    return it != object.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  auto pad = [](std::string text, std::size_t width, bool right) {
    if (text.size() >= width) return text;
    const std::string fill(width - text.size(), ' ');
    return right ? fill + text : text + fill;
  };
  std::string out = report.value("component", std::string("source")) + ": " +
                    std::to_string(number(report, "records_in")) + " records in, " +
                    std::to_string(number(report, "records_out")) + " out, " +
                    std::to_string(number(report, "records_dropped")) + " dropped; " +
                    format_bytes(static_cast<double>(number(report, "bytes_in"))) + " in, " +
                    format_bytes(static_cast<double>(number(report, "bytes_out"))) + " out";
  if (number(report, "first_id") > 0)
    out += " (from record " + std::to_string(number(report, "first_id")) + ")";
  out += "\n";
  const nlohmann::json stages = report.value("stages", nlohmann::json::array());
  std::size_t name_width = 5;
  for (const nlohmann::json& stage : stages)
    name_width = std::max(name_width, stage.value("name", std::string()).size());
  out += pad("stage", name_width, false) + "  " + pad("changed", 9, true) + "  " +
         pad("dropped", 9, true) + "  reasons\n";
  for (const nlohmann::json& stage : stages) {
    std::string reasons;
    const nlohmann::json counts = stage.value("reasons", nlohmann::json::object());
    for (const auto& [reason, count] : counts.items())
      if (count.is_number_unsigned() && count.get<uint64_t>() > 0)
        reasons +=
            (reasons.empty() ? "" : ", ") + reason + " " + std::to_string(count.get<uint64_t>());
    out += pad(stage.value("name", std::string()), name_width, false) + "  " +
           pad(std::to_string(number(stage, "changed")), 9, true) + "  " +
           pad(std::to_string(number(stage, "dropped")), 9, true) + "  " + reasons + "\n";
  }
  const uint64_t errors = number(report, "errors_total");
  if (errors > 0) {
    const nlohmann::json listed = report.value("errors", nlohmann::json::array());
    out += "input problems: " + std::to_string(errors) + " (" + std::to_string(listed.size()) +
           " listed)\n";
    for (const nlohmann::json& error : listed)
      out += "  " + error.value("origin", std::string()) + "  " +
             error.value("reason", std::string()) + "\n";
  }
  if (report.contains("failure")) out += "failed: " + report.value("failure", std::string()) + "\n";
  return out;
}

}  // namespace lmf::data
