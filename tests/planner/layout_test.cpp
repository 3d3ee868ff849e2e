// Which parallel degrees a model admits, and the errors that name the option.
#include "tests/planner/planner_test_support.h"

#include "core/planner/layout.h"
#include "core/planner/plan_error.h"

#include <gtest/gtest.h>

namespace lmf::planner::test {
namespace {

std::string error_of(const PlanSettings& settings, const ModelSpec& model) {
  try {
    check_settings(settings, model);
  } catch (const PlanError& error) {
    return error.what();
  }
  return "";
}

TEST(Layout, TensorParallelMustDivideHeads) {
  const ModelSpec qwen = load_preset("deepseek-r1-distill-qwen-7b");  // 28 heads, 4 KV heads
  PlanSettings s = defaults_for(Method::inference);
  s.parallel.tp = 8;
  const std::string message = error_of(s, qwen);
  EXPECT_NE(message.find("--tp 8 does not divide num_attention_heads (28)"), std::string::npos);
  EXPECT_NE(message.find("valid: 1, 2, 4"), std::string::npos);
}

TEST(Layout, KvHeadsSplitInTrainingReplicateInInference) {
  const ModelSpec llama = load_preset("deepseek-r1-distill-llama-70b");  // 64 heads, 8 KV
  EXPECT_EQ(tp_problem(llama, Method::inference, 16), "");
  const std::string training = tp_problem(llama, Method::full, 16);
  EXPECT_NE(training.find("num_key_value_heads (8)"), std::string::npos);
}

TEST(Layout, PipelineNoLongerThanTheLayers) {
  const ModelSpec llama = load_preset("deepseek-r1-distill-llama-8b");
  PlanSettings s = defaults_for(Method::full);
  s.parallel.pp = 33;
  EXPECT_NE(error_of(s, llama).find("--pp 33 is more than the model's 32 layers"),
            std::string::npos);
}

TEST(Layout, DegreesMustMultiplyToTheGpuCount) {
  const ModelSpec llama = load_preset("deepseek-r1-distill-llama-70b");
  PlanSettings s = defaults_for(Method::full);
  s.parallel = {2, 2, 4, 0, 8};
  EXPECT_NE(error_of(s, llama).find("--tp 2 x --pp 2 x --dp 4 = 16 GPUs, but --gpus is 8"),
            std::string::npos);
  s.parallel = {3, 0, 0, 0, 8};
  EXPECT_NE(error_of(s, llama).find("--tp 3"), std::string::npos);
  s.parallel = {4, 0, 0, 0, 6};
  EXPECT_NE(error_of(s, llama).find("--gpus 6 is not a multiple of --tp 4"), std::string::npos);
  s.parallel = {4, 2, 0, 0, 16};
  EXPECT_EQ(error_of(s, llama), "");
}

TEST(Layout, ExpertParallelism) {
  const ModelSpec moe = load_preset("deepseek-moe-16b-base");
  EXPECT_EQ(ep_problem(moe, 8, 16), "");
  EXPECT_NE(ep_problem(moe, 3, 3).find("does not divide the 64 routed experts"), std::string::npos);
  EXPECT_NE(ep_problem(moe, 8, 4).find("must divide --dp (4)"), std::string::npos);
  EXPECT_NE(ep_problem(load_preset("seed-003-7b"), 2, 2).find("no experts"), std::string::npos);
}

TEST(Layout, MethodOptionsThatCannotRun) {
  const ModelSpec model = load_preset("deepseek-r1-distill-qwen-7b");
  PlanSettings s = defaults_for(Method::full);
  s.offload_params = true;
  s.zero = 2;
  EXPECT_NE(error_of(s, model).find("--offload-params needs --zero 3"), std::string::npos);
  PlanSettings q = defaults_for(Method::qlora);
  q.weights = WeightFormat::bf16;
  EXPECT_NE(error_of(q, model).find("QLoRA quantizes the base"), std::string::npos);
  PlanSettings lora = defaults_for(Method::lora);
  EXPECT_NE(error_of(lora, bare(7e9)).find("needs the architecture"), std::string::npos);
}

TEST(Layout, NamesOfChoices) {
  EXPECT_THROW(parse_method("lorra"), PlanError);
  try {
    parse_method("lorra");
  } catch (const PlanError& error) {
    EXPECT_NE(std::string(error.what()).find("did you mean \"lora\""), std::string::npos);
  }
  EXPECT_EQ(parse_lora_targets("q_proj,v_proj"), (std::vector<std::string>{"q", "v"}));
  EXPECT_EQ(parse_lora_targets("attention").size(), 4u);
  EXPECT_THROW(parse_lora_targets("q,lm_head"), PlanError);
}

}  // namespace
}  // namespace lmf::planner::test
