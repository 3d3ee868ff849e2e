// The fewest GPUs of a type (Note [Fit search]), and the plan around it.
#include "tests/planner/planner_test_support.h"

#include "core/planner/explain.h"
#include "core/planner/report_json.h"
#include "core/planner/report_table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace lmf::planner::test {
namespace {

TEST(FitSearch, SevenBBf16FitsOneRtx4090) {
  const Plan plan = plan_on(load_preset("deepseek-r1-distill-qwen-7b"),
                            defaults_for(Method::inference), "rtx-4090");
  ASSERT_TRUE(plan.search.front().best);
  EXPECT_EQ(plan.search.front().best->layout.gpus(), 1);
  EXPECT_TRUE(plan.layout_searched);
  ASSERT_TRUE(plan.primary);
  EXPECT_TRUE(plan.primary->fits);
}

TEST(FitSearch, SeventyBBf16NeedsTwoA100sWithTensorParallelism) {
  // 141.1 GB of weights: half per GPU at TP 2 (70.6 GB) fits 85.9 GB; one GPU does not.
  const Plan plan = plan_on(load_preset("deepseek-r1-distill-llama-70b"),
                            defaults_for(Method::inference), "a100-80gb");
  ASSERT_TRUE(plan.search.front().best);
  const Layout layout = plan.search.front().best->layout;
  EXPECT_EQ(layout.gpus(), 2);
  EXPECT_EQ(layout.tp, 2);
  EXPECT_LE(plan.search.front().best->memory.total(), 81920.0 * 1024 * 1024);
}

TEST(FitSearch, NothingFitsWithinTheLimit) {
  PlanSettings s = defaults_for(Method::full);
  s.max_gpus = 4;
  const Plan plan = plan_on(load_preset("deepseek-r1-distill-llama-70b"), s, "rtx-4090");
  EXPECT_FALSE(plan.search.front().best);
  EXPECT_NE(plan.search.front().reason.find("does not fit"), std::string::npos);
  EXPECT_NE(plan.search.front().reason.find("--max-gpus"), std::string::npos);
}

TEST(FitSearch, FixedDegreesAreKept) {
  PlanSettings s = defaults_for(Method::full);
  s.parallel.tp = 8;
  s.parallel.gpus = 16;
  const Plan plan = plan_on(load_preset("deepseek-r1-distill-llama-70b"), s, "h100-80gb");
  ASSERT_TRUE(plan.search.front().best);
  EXPECT_EQ(plan.search.front().best->layout.tp, 8);
  EXPECT_EQ(plan.search.front().best->layout.gpus(), 16);
  EXPECT_EQ(plan.layout.tp, 8);
  EXPECT_EQ(plan.layout.dp, 2);
}

TEST(FitSearch, EveryCatalogGpuIsSearched) {
  PlanRequest request;
  request.model = load_preset("deepseek-r1-distill-qwen-32b");
  request.settings = defaults_for(Method::qlora);
  const Plan plan = make_plan(request, builtin_catalog());
  EXPECT_EQ(plan.search.size(), builtin_catalog().gpus.size());
  EXPECT_FALSE(plan.primary);
  // The no-bf16 GPUs are named in a warning.
  bool warned = false;
  for (const std::string& warning : plan.warnings)
    warned = warned || warning.find("v100-32gb") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(Plan, ExplainRecordsTheNumbersUsed) {
  const Plan plan = plan_on(load_preset("deepseek-r1-distill-qwen-7b"), defaults_for(Method::qlora),
                            "rtx-4090", true);
  double recorded_total = -1;
  for (const Step& step : plan.derivation.steps())
    if (step.name == "total per GPU") recorded_total = step.value;
  ASSERT_TRUE(plan.primary);
  EXPECT_DOUBLE_EQ(recorded_total, plan.primary->memory.total());
  std::ostringstream text;
  write_explanation(text, plan.derivation);
  EXPECT_NE(text.str().find("input embedding = V*h"), std::string::npos);
  EXPECT_NE(text.str().find("= 152064*3584"), std::string::npos);
  EXPECT_NE(text.str().find("step time"), std::string::npos);
}

TEST(Plan, JsonAndTableAgree) {
  const Plan plan =
      plan_on(load_preset("deepseek-r1-distill-llama-8b"), defaults_for(Method::lora), "a10");
  const nlohmann::json json = plan_to_json(plan);
  EXPECT_DOUBLE_EQ(json["memory_per_gpu"]["total"].get<double>(), plan.memory.total());
  EXPECT_EQ(json["search"][0]["gpu"], "a10");
  EXPECT_EQ(json["settings"]["lora_rank"], 8);
  std::ostringstream table;
  write_table(table, plan);
  EXPECT_NE(table.str().find("Memory per GPU"), std::string::npos);
  EXPECT_NE(table.str().find("Fewest GPUs"), std::string::npos);
}

}  // namespace
}  // namespace lmf::planner::test
