// FLOPs per token and times (Note [FLOPs per token]).
#include "tests/planner/planner_test_support.h"

#include "core/planner/time_model.h"

#include <gtest/gtest.h>

namespace lmf::planner::test {
namespace {

TimeEstimate time_of(const ModelSpec& model, const PlanSettings& s, Layout layout,
                     const char* gpu) {
  const ModelInfo info = make_model_info(model, s);
  const GpuCatalog catalog = builtin_catalog();
  const MemoryEstimate memory = estimate_memory(info, s, layout);
  return estimate_time(info, s, layout, find_gpu(catalog, gpu), memory);
}

TEST(TimeModel, SixNPerTrainedToken) {
  PlanSettings s = defaults_for(Method::full);
  s.checkpointing = Checkpointing::none;
  s.tokens = 1e9;
  const TimeEstimate t = time_of(bare(7e9), s, Layout{1, 1, 8, 1}, "h100-80gb");
  EXPECT_DOUBLE_EQ(t.flops_per_token, 6 * 7e9);
  // 1e9 tokens x 42e9 FLOPs over 8 x 989.4e12 x 0.4.
  EXPECT_NEAR(t.total_seconds, 1e9 * 42e9 / (8 * 989.4e12 * 0.4), 1e-6);
  EXPECT_DOUBLE_EQ(t.tokens_per_step, 2048.0 * 8);
}

TEST(TimeModel, FullRecomputationAddsAForwardPass) {
  PlanSettings s = defaults_for(Method::full);
  s.checkpointing = Checkpointing::full;
  EXPECT_DOUBLE_EQ(time_of(bare(7e9), s, Layout{}, "a100-80gb").flops_per_token, 8 * 7e9);
  EXPECT_DOUBLE_EQ(time_of(bare(7e9), s, Layout{}, "a100-80gb").model_flops_per_token, 6 * 7e9);
}

TEST(TimeModel, AttentionTermFollowsPaLM) {
  // PaLM app. B: 6N + 12 L H Q T per token for training.
  const ModelSpec model = load_preset("deepseek-r1-distill-llama-8b");
  PlanSettings s = defaults_for(Method::full);
  s.checkpointing = Checkpointing::none;
  s.seq_len = 8192;
  const double n = 8'030'261'248.0 - 128256.0 * 4096;  // less the input embedding
  EXPECT_DOUBLE_EQ(time_of(model, s, Layout{}, "h100-80gb").flops_per_token,
                   6 * n + 12 * 32.0 * 32 * 128 * 8192);
}

TEST(TimeModel, LoraSkipsFrozenWeightGradients) {
  const ModelSpec model = load_preset("deepseek-r1-distill-qwen-7b");
  PlanSettings s = defaults_for(Method::lora);
  s.checkpointing = Checkpointing::none;
  const ModelInfo info = make_model_info(model, s);
  const double attention = 2.0 * 2048 * 28 * 28 * 256;
  EXPECT_DOUBLE_EQ(time_of(model, s, Layout{}, "a100-80gb").flops_per_token,
                   4 * info.params.matmul_active + 6 * info.lora.active + 3 * attention);
}

TEST(TimeModel, PipelineBubble) {
  PlanSettings s = defaults_for(Method::full);
  s.grad_accum = 8;
  EXPECT_DOUBLE_EQ(time_of(bare(7e9), s, Layout{1, 4, 1, 1}, "a100-80gb").bubble, (8 + 3) / 8.0);
}

TEST(TimeModel, DecodeIsBandwidthBoundAtLowConcurrency) {
  // One sequence: each token reads all weights once. 7B bf16 on an A100: about
  // 15.2 GB / (2039 GB/s x 0.6) = 12.5 ms.
  PlanSettings s = defaults_for(Method::inference);
  const TimeEstimate t =
      time_of(load_preset("deepseek-r1-distill-qwen-7b"), s, Layout{}, "a100-80gb");
  EXPECT_TRUE(t.memory_bound);
  EXPECT_NEAR(t.step_seconds, 15.3e9 / (2039e9 * 0.6), 0.5e-3);
  // Prefill runs at 2N (+ attention) FLOPs per token.
  EXPECT_GT(t.prefill_tokens_per_second, 1000);
}

TEST(TimeModel, Fp32TrainingUsesTheFp32Rate) {
  PlanSettings s = defaults_for(Method::full);
  s.precision = Precision::fp32;
  EXPECT_DOUBLE_EQ(time_of(bare(1e9), s, Layout{}, "a100-80gb").peak_flops, 19.5e12);
}

}  // namespace
}  // namespace lmf::planner::test
