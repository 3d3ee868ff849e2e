// Learning-rate schedules (training/lr_schedule.h) against transformers' schedulers as the
// Trainer steps them, values worked out by hand, and configuration errors.
#include "optimizer_fixtures.h"
#include "training/lr_schedule.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend::testing {
namespace {

LrSchedule schedule(LrDecay decay, int64_t warmup, int64_t total, double min_ratio = 0.0) {
  LrSchedule s;
  s.peak_lr = 1.0;
  s.decay = decay;
  s.warmup_steps = warmup;
  s.total_steps = total;
  s.min_lr_ratio = min_ratio;
  return s;
}

TEST(LrScheduleReference, MatchesTransformersSchedulersStepByStep) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("schedules.json");
  const nlohmann::json fixture = fixture_json("schedules.json");
  const std::map<std::string, std::string> types = {{"linear", "linear"},
                                                    {"cosine", "cosine"},
                                                    {"constant_with_warmup", "constant"},
                                                    {"cosine_with_min_lr", "cosine"}};
  for (const nlohmann::json& c : fixture["cases"]) {
    const std::string name = c["transformers_name"];
    SCOPED_TRACE(name + " warmup " + c["warmup_steps"].dump() + " total " +
                 c["total_steps"].dump());
    nlohmann::json config = {{"type", types.at(name)}, {"warmup_steps", c["warmup_steps"]}};
    if (c["min_lr_ratio"].get<double>() > 0) config["min_lr_ratio"] = c["min_lr_ratio"];
    const LrSchedule s = LrSchedule::from_json(config, fixture["peak_lr"], c["total_steps"]);
    const auto lrs = c["lrs"].get<std::vector<double>>();
    ASSERT_GT(lrs.size(), static_cast<size_t>(c["total_steps"].get<int64_t>()));
    for (size_t step = 0; step < lrs.size(); ++step)
      EXPECT_NEAR(s.lr_at(static_cast<int64_t>(step)), lrs[step], 1e-15) << "step " << step;
  }
}

TEST(LrSchedule, LinearWarmsUpFromZeroThenFallsToZeroAtTheLastStep) {
  const LrSchedule s = schedule(LrDecay::linear, 2, 6);
  const std::vector<double> expected = {0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0};
  for (size_t k = 0; k < expected.size(); ++k)
    EXPECT_DOUBLE_EQ(s.lr_at(static_cast<int64_t>(k)), expected[k]) << k;
}

TEST(LrSchedule, CosineIsHalfWayAtTheMiddleOfTheDecay) {
  const LrSchedule s = schedule(LrDecay::cosine, 2, 10);
  EXPECT_DOUBLE_EQ(s.lr_at(2), 1.0);
  EXPECT_NEAR(s.lr_at(6), 0.5, 1e-15);
  EXPECT_NEAR(s.lr_at(4), 0.5 * (1 + std::cos(M_PI / 4)), 1e-15);
  EXPECT_NEAR(s.lr_at(10), 0.0, 1e-15);
}

TEST(LrSchedule, MinLrRatioIsTheFloorOfCosineAndLinear) {
  const LrSchedule cosine = schedule(LrDecay::cosine, 0, 10, 0.1);
  EXPECT_DOUBLE_EQ(cosine.lr_at(0), 1.0);
  EXPECT_NEAR(cosine.lr_at(5), 0.1 + 0.9 * 0.5, 1e-15);
  EXPECT_NEAR(cosine.lr_at(10), 0.1, 1e-15);
  const LrSchedule linear = schedule(LrDecay::linear, 0, 4, 0.2);
  EXPECT_NEAR(linear.lr_at(2), 0.2 + 0.8 * 0.5, 1e-15);
  EXPECT_NEAR(linear.lr_at(4), 0.2, 1e-15);
  EXPECT_NEAR(linear.lr_at(9), 0.2, 1e-15);
}

TEST(LrSchedule, ConstantHoldsThePeakAfterWarmUp) {
  const LrSchedule s = schedule(LrDecay::constant, 4, 8);
  EXPECT_DOUBLE_EQ(s.lr_at(1), 0.25);
  for (int64_t k = 4; k < 12; ++k) EXPECT_DOUBLE_EQ(s.lr_at(k), 1.0);
}

TEST(LrSchedule, FromJsonDefaultsAndWarmupRatio) {
  const LrSchedule defaults = LrSchedule::from_json(nlohmann::json::object(), 2e-4, 100);
  EXPECT_EQ(defaults.decay, LrDecay::cosine);
  EXPECT_EQ(defaults.warmup_steps, 0);
  EXPECT_EQ(defaults.peak_lr, 2e-4);
  EXPECT_DOUBLE_EQ(defaults.lr_at(0), 2e-4);
  // transformers: ceil(total · ratio) = ceil(10.3) = 11.
  const LrSchedule ratio =
      LrSchedule::from_json({{"type", "linear"}, {"warmup_ratio", 0.103}}, 1.0, 100);
  EXPECT_EQ(ratio.warmup_steps, 11);
  EXPECT_EQ(ratio.decay, LrDecay::linear);
}

std::string schedule_error(const nlohmann::json& config, int64_t total = 10) {
  try {
    LrSchedule::from_json(config, 1e-3, total);
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LrSchedule, FromJsonNamesTheBadField) {
  EXPECT_NE(schedule_error({{"type", "step"}})
                .find("field \"type\" is \"step\"; expected linear, cosine or constant"),
            std::string::npos);
  EXPECT_NE(schedule_error({{"warmup_steps", -1}}).find("\"warmup_steps\" must be an integer ≥ 0"),
            std::string::npos);
  EXPECT_NE(schedule_error({{"warmup_steps", 2}, {"warmup_ratio", 0.1}})
                .find("\"warmup_ratio\" is given with warmup_steps"),
            std::string::npos);
  EXPECT_NE(schedule_error({{"warmup_ratio", 1.5}}).find("\"warmup_ratio\" must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(schedule_error({{"min_lr_ratio", 0.1}, {"type", "constant"}})
                .find("\"min_lr_ratio\" has no effect"),
            std::string::npos);
  EXPECT_NE(schedule_error({{"warmup", 3}})
                .find("train: schedule: field \"warmup\" is not a schedule setting"),
            std::string::npos);
  EXPECT_NE(schedule_error(nlohmann::json::object(), 0).find("at least 1"), std::string::npos);
}

}  // namespace
}  // namespace lmf::torch_backend::testing
