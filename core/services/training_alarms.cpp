#include "core/services/training_alarms.h"

#include "core/config/json_pointer.h"
#include "core/config/schema.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace lmf::services {
namespace {

nlohmann::json make_alarm_table_schema() {
  const nlohmann::json rule = {{"type", "object"},
                               {"additionalProperties", false},
                               {"properties",
                                {{"min", {{"type", "number"}}},
                                 {"max", {{"type", "number"}}},
                                 {"min_after_reached", {{"type", "boolean"}}}}}};
  return {{"type", "object"}, {"additionalProperties", {{"oneOf", {{{"type", "null"}}, rule}}}}};
}

// Six significant digits, as %g: "3", "0.0001", "1e-06".
std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

}  // namespace

AlarmTable seed_alarm_table() {
  return {
      {"train/loss", {std::nullopt, 3.0, false}},
      {"eval/loss", {std::nullopt, 3.5, false}},
      {"train/lr", {1e-6, 1e-4, true}},
      {"gpu/utilization", {70.0, 98.0, false}},
  };
}

const nlohmann::json& alarm_table_schema() {
  static const nlohmann::json schema = make_alarm_table_schema();
  return schema;
}

AlarmTable alarm_table_with_overrides(const nlohmann::json& overrides, std::string_view pointer) {
  nlohmann::json checked = overrides;
  std::vector<std::string> problems;
  for (const config::ValidationIssue& issue :
       config::validate(alarm_table_schema(), checked, pointer))
    problems.push_back(issue.pointer + ": " + issue.message);

  AlarmTable table = seed_alarm_table();
  if (problems.empty()) {
    for (const auto& [metric, spec] : checked.items()) {
      if (spec.is_null()) {
        table.erase(metric);
        continue;
      }
      AlarmRule rule;
      if (spec.contains("min")) rule.min = spec["min"].get<double>();
      if (spec.contains("max")) rule.max = spec["max"].get<double>();
      rule.min_after_reached = spec.value("min_after_reached", false);
      if (rule.min && rule.max && *rule.min > *rule.max) {
        problems.push_back(config::append_pointer(pointer, metric) + ": min " +
                           format_number(*rule.min) + " is greater than max " +
                           format_number(*rule.max));
      }
      table[metric] = rule;
    }
  }
  if (!problems.empty()) {
    std::string text = "invalid alarm table:";
    for (const std::string& problem : problems) text += "\n  " + problem;
    throw std::invalid_argument(text);
  }
  return table;
}

std::string RaisedAlarm::message() const {
  return metric + " is " + format_number(value) + " at step " + std::to_string(step) + ": " +
         reason + (reason == "not a number" ? "" : ", its alarm threshold");
}

TrainingAlarms::TrainingAlarms(AlarmTable table, Logger* logger)
    : logger_(logger), table_(std::move(table)) {}

std::optional<RaisedAlarm> TrainingAlarms::observe(std::string_view metric, double value,
                                                   std::int64_t step) {
  std::optional<RaisedAlarm> alarm;
  {
    std::lock_guard lock(mutex_);
    const auto rule = table_.find(metric);
    if (rule == table_.end()) return std::nullopt;
    auto state = states_.find(metric);
    if (state == states_.end()) state = states_.emplace(std::string(metric), MetricState{}).first;

    const AlarmRule& limits = rule->second;
    MetricState& current = state->second;
    if (limits.min && value >= *limits.min) current.min_reached = true;
    const bool check_min = limits.min && (current.min_reached || !limits.min_after_reached);

    Range range = Range::inside;
    std::string reason;
    if (std::isnan(value)) {
      range = Range::not_a_number;
      reason = "not a number";
    } else if (check_min && value < *limits.min) {
      range = Range::below;
      reason = "below " + format_number(*limits.min);
    } else if (limits.max && value > *limits.max) {
      range = Range::above;
      reason = "above " + format_number(*limits.max);
    }
    const bool entered = range != Range::inside && range != current.range;
    current.range = range;
    if (!entered) return std::nullopt;
    alarm = RaisedAlarm{std::string(metric), step, value, reason};
    raised_.push_back(*alarm);
  }
  // Outside the lock: the logger may block on a terminal.
  if (logger_ != nullptr) logger_->log(LogLevel::warning, "alarms", alarm->message());
  return alarm;
}

void TrainingAlarms::reset_states() {
  std::lock_guard lock(mutex_);
  states_.clear();
}

void TrainingAlarms::set_table(AlarmTable table) {
  std::lock_guard lock(mutex_);
  table_ = std::move(table);
  states_.clear();
}

std::vector<RaisedAlarm> TrainingAlarms::raised() const {
  std::lock_guard lock(mutex_);
  return raised_;
}

}  // namespace lmf::services
