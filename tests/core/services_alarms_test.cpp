// Training alarms: the seed's thresholds, one warning per crossing, the learning-rate
// warm-up, overrides from a configuration, and the hook in RunServices.
#include "core/config/schema.h"
#include "core/pipeline/run_services.h"
#include "core/services/training_alarms.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lmf::services {
namespace {

using lmf::testing::Contains;
using nlohmann::json;

// The steps at which `values` (step i = values[i]) raise an alarm.
std::vector<std::int64_t> alarm_steps(TrainingAlarms& alarms, const std::string& metric,
                                      const std::vector<double>& values) {
  std::vector<std::int64_t> steps;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto step = static_cast<std::int64_t>(i);
    if (const auto alarm = alarms.observe(metric, values[i], step)) {
      EXPECT_EQ(alarm->metric, metric);
      EXPECT_EQ(alarm->step, step);
      if (std::isnan(values[i])) {
        EXPECT_TRUE(std::isnan(alarm->value));
      } else {
        EXPECT_EQ(alarm->value, values[i]);
      }
      steps.push_back(step);
    }
  }
  return steps;
}

using Steps = std::vector<std::int64_t>;

TEST(TrainingAlarms, SeedTableHoldsTheBriefsThresholds) {
  const AlarmTable table = seed_alarm_table();
  ASSERT_EQ(table.size(), 4u);
  EXPECT_FALSE(table.at("train/loss").min.has_value());
  EXPECT_EQ(table.at("train/loss").max, 3.0);
  EXPECT_EQ(table.at("eval/loss").max, 3.5);
  EXPECT_EQ(table.at("train/lr").min, 1e-6);
  EXPECT_EQ(table.at("train/lr").max, 1e-4);
  EXPECT_TRUE(table.at("train/lr").min_after_reached);
  EXPECT_EQ(table.at("gpu/utilization").min, 70.0);
  EXPECT_EQ(table.at("gpu/utilization").max, 98.0);
  EXPECT_FALSE(table.at("gpu/utilization").min_after_reached);
}

TEST(TrainingAlarms, WarnsOncePerCrossingWithStepAndValue) {
  std::ostringstream out;
  Logger logger(out);
  TrainingAlarms alarms(seed_alarm_table(), &logger);
  // 3.0 itself is not above 3.0; 3.5 stays in the range entered at step 2; 2.8 leaves it.
  EXPECT_EQ(alarm_steps(alarms, "train/loss", {2.9, 3.0, 3.25, 3.5, 2.8, 3.125, 3.0}),
            (Steps{2, 5}));
  EXPECT_EQ(out.str(),
            "[lmforge] warning alarms: train/loss is 3.25 at step 2: above 3, its alarm "
            "threshold\n"
            "[lmforge] warning alarms: train/loss is 3.125 at step 5: above 3, its alarm "
            "threshold\n");
  ASSERT_EQ(alarms.raised().size(), 2u);
  EXPECT_EQ(alarms.raised()[1].reason, "above 3");
  EXPECT_EQ(alarms.raised()[1].value, 3.125);
}

TEST(TrainingAlarms, EvalLossHasItsOwnThreshold) {
  TrainingAlarms alarms;
  EXPECT_EQ(alarm_steps(alarms, "eval/loss", {3.2, 3.4, 3.6}), (Steps{2}));
}

TEST(TrainingAlarms, WarmUpFromZeroIsNotAnAlarmButDecayBelowTheMinimumIs) {
  TrainingAlarms alarms;
  // Warm-up: 0, then below 1e-6 until step 3; peak; decay below 1e-6 at step 6.
  EXPECT_EQ(alarm_steps(alarms, "train/lr", {0.0, 3e-8, 5e-7, 1e-6, 3e-5, 2e-6, 5e-7, 0.0}),
            (Steps{6}));
  EXPECT_EQ(alarms.raised().at(0).reason, "below 1e-06");
}

TEST(TrainingAlarms, ASecondRunWarmsUpAgainAfterResetStates) {
  TrainingAlarms alarms;
  EXPECT_EQ(alarm_steps(alarms, "train/lr", {0.0, 5e-5, 3e-5}), (Steps{}));
  alarms.reset_states();  // the next stage: its warm-up starts from 0 again
  EXPECT_EQ(alarm_steps(alarms, "train/lr", {0.0, 5e-7, 3e-5}), (Steps{}));
  TrainingAlarms without_reset;
  EXPECT_EQ(alarm_steps(without_reset, "train/lr", {0.0, 5e-5, 3e-5, 0.0, 5e-7, 3e-5}), (Steps{3}));
}

TEST(TrainingAlarms, LearningRateAboveTheMaximumAlarmsFromTheFirstStep) {
  TrainingAlarms alarms;
  EXPECT_EQ(alarm_steps(alarms, "train/lr", {2e-4, 2e-4, 5e-5, 3e-4}), (Steps{0, 3}));
  EXPECT_EQ(alarms.raised().at(0).message(),
            "train/lr is 0.0002 at step 0: above 0.0001, its alarm threshold");
}

TEST(TrainingAlarms, MovingFromOneAlarmRangeToTheOtherAlarmsAgain) {
  TrainingAlarms alarms;
  EXPECT_EQ(alarm_steps(alarms, "gpu/utilization", {50, 99, 99.5, 80, 60, 65}), (Steps{0, 1, 4}));
  const std::vector<RaisedAlarm> raised = alarms.raised();
  ASSERT_EQ(raised.size(), 3u);
  EXPECT_EQ(raised[0].reason, "below 70");
  EXPECT_EQ(raised[1].reason, "above 98");
  EXPECT_EQ(raised[2].reason, "below 70");
}

TEST(TrainingAlarms, NanIsAnAlarmInfinityIsOutOfRange) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  TrainingAlarms alarms;
  EXPECT_EQ(alarm_steps(alarms, "train/loss", {nan, nan, 2.0, inf, nan}), (Steps{0, 3, 4}));
  const std::vector<RaisedAlarm> raised = alarms.raised();
  EXPECT_EQ(raised[0].reason, "not a number");
  EXPECT_EQ(raised[0].message(), "train/loss is nan at step 0: not a number");
  EXPECT_EQ(raised[1].reason, "above 3");
}

TEST(TrainingAlarms, MetricsOutsideTheTableAreIgnored) {
  TrainingAlarms alarms;
  EXPECT_EQ(alarm_steps(alarms, "train/tokens_per_s", {0.0, 1e12}), Steps{});
  EXPECT_TRUE(alarms.raised().empty());
}

TEST(TrainingAlarms, SetTableReplacesRulesAndForgetsState) {
  TrainingAlarms alarms;
  EXPECT_EQ(alarm_steps(alarms, "train/loss", {3.5}), (Steps{0}));
  alarms.set_table({{"train/loss", {std::nullopt, 4.0, false}}});
  EXPECT_EQ(alarm_steps(alarms, "train/loss", {3.5, 4.5}), (Steps{1}));
}

TEST(TrainingAlarms, ConcurrentObserversEachSeeTheirOwnCrossings) {
  TrainingAlarms alarms({{"a", {std::nullopt, 1.0, false}},
                         {"b", {std::nullopt, 1.0, false}},
                         {"c", {std::nullopt, 1.0, false}},
                         {"d", {std::nullopt, 1.0, false}}});
  constexpr int kCrossings = 200;
  std::vector<std::thread> threads;
  for (const char* metric : {"a", "b", "c", "d"}) {
    threads.emplace_back([&alarms, metric] {
      for (int i = 0; i < kCrossings; ++i) {
        alarms.observe(metric, 2.0, 2 * i);
        alarms.observe(metric, 0.0, 2 * i + 1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(alarms.raised().size(), 4u * kCrossings);
}

// ---- The table in a configuration ---------------------------------------------------------

TEST(AlarmTableConfig, SchemaIsUsableByTheValidator) {
  EXPECT_EQ(config::check_schema(alarm_table_schema()), std::vector<std::string>{});
}

TEST(AlarmTableConfig, OverridesReplaceAddAndRemoveRules) {
  const AlarmTable table = alarm_table_with_overrides(
      json::parse(R"({"train/loss": {"max": 2.5}, "gpu/utilization": null,
                      "train/grad_norm": {"max": 10, "min": 0.001, "min_after_reached": true}})"),
      "/run/alarms");
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table.at("train/loss").max, 2.5);
  EXPECT_FALSE(table.at("train/loss").min.has_value());
  EXPECT_EQ(table.count("gpu/utilization"), 0u);
  EXPECT_EQ(table.at("train/grad_norm").min, 0.001);
  EXPECT_EQ(table.at("train/grad_norm").max, 10.0);
  EXPECT_TRUE(table.at("train/grad_norm").min_after_reached);
  EXPECT_EQ(table.at("eval/loss").max, 3.5);  // untouched seed rule
  EXPECT_EQ(table.at("train/lr").min, 1e-6);
}

TEST(AlarmTableConfig, EveryBadFieldIsNamedByItsPointer) {
  try {
    alarm_table_with_overrides(
        json::parse(R"({"train/loss": {"max": "high"}, "eval/loss": {"mx": 1}, "x": 3})"),
        "/run/alarms");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_TRUE(Contains(message, "/run/alarms/train~1loss/max: "));
    EXPECT_TRUE(Contains(message, "/run/alarms/eval~1loss"));
    EXPECT_TRUE(Contains(message, "\"mx\""));
    EXPECT_TRUE(Contains(message, "/run/alarms/x: "));
  }
  try {
    alarm_table_with_overrides(json::parse(R"({"train/lr": {"min": 1, "max": 0.5}})"),
                               "/run/alarms");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(Contains(e.what(), "/run/alarms/train~1lr: min 1 is greater than max 0.5"));
  }
}

// ---- Every run's metrics go through the alarms ---------------------------------------------

TEST(AlarmRunServices, MetricsRecordedThroughTheHostRaiseWarnings) {
  std::ostringstream terminal;
  Logger logger(terminal);
  ProgressBoard progress(terminal);
  pipeline::RunServices services(logger, progress, Cancellation::process());
  services.metric("trainer", "train/loss", 3.75, 7);
  services.metric("trainer", "train/loss", 3.8, 8);
  EXPECT_TRUE(
      Contains(terminal.str(), "warning alarms: train/loss is 3.75 at step 7: above 3, its alarm"));
  EXPECT_EQ(services.alarms().raised().size(), 1u);

  services.set_alarm_table(alarm_table_with_overrides(json::parse(R"({"train/loss": null})"), ""));
  services.metric("trainer", "train/loss", 9.0, 9);
  EXPECT_EQ(services.alarms().raised().size(), 1u);  // the rule is gone; history stays
}

}  // namespace
}  // namespace lmf::services
