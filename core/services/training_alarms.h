// Training alarms: a warning the moment a recorded metric leaves its healthy range.
#pragma once

#include "core/services/log.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::services {

// One metric's healthy range; a value below `min`, above `max`, or NaN raises an alarm.
struct AlarmRule {
  std::optional<double> min;
  std::optional<double> max;
  // Note [Learning rate warm-up]: a warm-up ramps the learning rate up from 0 through any
  // lower bound, and that is not a fault. With this set, `min` is checked only once a value
  // has reached it; `max` and NaN are checked from the first value. A schedule that later
  // decays below `min` does raise the alarm, once.
  bool min_after_reached = false;
};

// Metric name -> rule.
using AlarmTable = std::map<std::string, AlarmRule, std::less<>>;

// The seed's thresholds (BRIEF.md §3): train/loss > 3.0, eval/loss > 3.5, train/lr outside
// [1e-6, 1e-4] (min_after_reached), gpu/utilization (percent) outside [70, 98].
AlarmTable seed_alarm_table();

// The JSON Schema (Note [Schema subset]) of an alarm table in a configuration, e.g.
//   "alarms": {"train/loss": {"max": 2.5}, "gpu/utilization": null,
//              "train/grad_norm": {"max": 10}}
// An object replaces the seed's rule for that metric (or adds one); null removes it.
const nlohmann::json& alarm_table_schema();

// The seed's table with `overrides` (shaped as alarm_table_schema) applied. Throws
// std::invalid_argument listing every problem, each "<pointer>: <what is wrong>", the
// pointers starting with `pointer` (where the table sits in its document, e.g.
// "/run/alarms"); min greater than max is one.
AlarmTable alarm_table_with_overrides(const nlohmann::json& overrides, std::string_view pointer);

struct RaisedAlarm {
  std::string metric;
  std::int64_t step = 0;
  double value = 0;
  std::string reason;  // "above 3", "below 1e-06" or "not a number"

  // "train/loss is 3.42 at step 120: above 3, its alarm threshold"
  std::string message() const;
};

// Watches recorded metrics against a table. Every member may be called from any thread.
//
// An alarm is raised once per crossing: when a metric enters an alarm range (below, above,
// NaN), not again while it stays there, and again only after it has come back inside, or
// moved to another alarm range.
class TrainingAlarms {
 public:
  // Raised alarms are logged to `logger` (may be null) as warnings from source "alarms".
  explicit TrainingAlarms(AlarmTable table = seed_alarm_table(), Logger* logger = nullptr);

  // The alarm this value raises, if any. Names the table does not hold are ignored.
  std::optional<RaisedAlarm> observe(std::string_view metric, double value, std::int64_t step);

  // Replaces the table and forgets every metric's state; raised() keeps what was raised.
  void set_table(AlarmTable table);

  // Forgets every metric's state (not the table, not raised()): the next values are those of
  // a new run, whose learning rate warms up from 0 again (a pipeline's second training stage).
  void reset_states();

  // Every alarm raised so far, in order.
  std::vector<RaisedAlarm> raised() const;

 private:
  enum class Range { inside, below, above, not_a_number };
  struct MetricState {
    Range range = Range::inside;
    bool min_reached = false;
  };

  Logger* logger_;
  mutable std::mutex mutex_;  // guards everything below
  AlarmTable table_;
  std::map<std::string, MetricState, std::less<>> states_;
  std::vector<RaisedAlarm> raised_;
};

}  // namespace lmf::services
