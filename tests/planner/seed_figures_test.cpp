// The worked numbers of the seeds (BRIEF.md sec. 8), each under the assumptions that
// docs/planner.md states for it. Where a seed gives a range the estimate must fall in it;
// where it gives one figure ("about 16 GB") we allow +-15%, the tolerance the issue sets
// for measured peaks. Expected values are the seeds' or plain arithmetic.
#include "tests/planner/planner_test_support.h"

#include <gtest/gtest.h>

namespace lmf::planner::test {
namespace {

PlanSettings inference(WeightFormat weights) {
  PlanSettings s = defaults_for(Method::inference);
  s.weights = weights;
  return s;
}

// The seed 001 fine-tuning table: sequence 512, micro-batch 1, LoRA r=8 on all linear
// layers, full activation checkpointing, one GPU.
PlanSettings seed_001(Method method, WeightFormat base) {
  PlanSettings s = defaults_for(method);
  s.weights = base;
  s.seq_len = 512;
  return s;
}

double weights_and_states(const MemoryEstimate& m) {
  return m.weights + m.gradients + m.optimizer;
}

TEST(SeedFigures, Fp16WeightsOf70BAre140GB) {
  // seed 002: "70B x 2 bytes = 140 GB (weights only)".
  EXPECT_DOUBLE_EQ(memory_of(bare(70e9), inference(WeightFormat::fp16)).weights, 140e9);
  // The real 70B (R1-Distill-Llama-70B) has 70.55B parameters: 141.1 GB.
  const double preset =
      memory_of(load_preset("deepseek-r1-distill-llama-70b"), inference(WeightFormat::fp16))
          .weights;
  EXPECT_DOUBLE_EQ(preset, 2 * 70'553'706'496.0);
}

TEST(SeedFigures, Int4InferenceOf70BIs50To60GB) {
  // seed 002: INT4 (GPTQ/AWQ) model "about 40-50 GB", inference "about 50-60 GB".
  // Assumptions: group size 128, embeddings and lm_head 16-bit, 4096-token context x 8
  // concurrent sequences, bf16 KV cache, 1 GB overhead.
  PlanSettings s = inference(WeightFormat::int4);
  s.context = 4096;
  s.concurrency = 8;
  const MemoryEstimate m = memory_of(load_preset("deepseek-r1-distill-llama-70b"), s);
  // 68.45B matrices x (0.5 + 2.5/128) + 2.10B x 2 = 39.8 GB: the seed's "40" rounded
  // (docs/planner.md); a real AWQ checkpoint of this model is that size.
  EXPECT_GE(gb(m.weights), 39.5);
  EXPECT_LE(gb(m.weights), 50.0);
  EXPECT_GE(gb(m.total()), 50.0);
  EXPECT_LE(gb(m.total()), 60.0);
  // The KV cache of that load: 2 x 80 layers x 8 heads x 128 x 2 bytes x 4096 x 8.
  EXPECT_DOUBLE_EQ(m.kv_cache, 2.0 * 80 * 8 * 128 * 2 * 4096 * 8);
}

TEST(SeedFigures, FullFineTuningWithAdamIs16To20BytesPerParameter) {
  // seeds 002/004: Adam "about 18-20 bytes per parameter", "1.4 TB" for 70B; BRIEF: 16-20,
  // 1.1-1.4 TB. Mixed precision: 2 (bf16 weights) + 2 (grads) + 12 (fp32 master + m + v).
  PlanSettings s = defaults_for(Method::full);
  const MemoryEstimate bf16_grads = memory_of(bare(70e9), s);
  EXPECT_DOUBLE_EQ(weights_and_states(bf16_grads) / 70e9, 16.0);
  s.fp32_grads = true;  // Megatron's default: gradients accumulated in fp32
  const MemoryEstimate fp32_grads = memory_of(bare(70e9), s);
  EXPECT_DOUBLE_EQ(weights_and_states(fp32_grads) / 70e9, 18.0);
  // The 70B model: 1.13 TB and 1.27 TB of states, plus activations.
  const ModelSpec model = load_preset("deepseek-r1-distill-llama-70b");
  for (bool fp32 : {false, true}) {
    s.fp32_grads = fp32;
    const MemoryEstimate m = memory_of(model, s);
    EXPECT_GE(m.total() / 1e12, 1.1) << "fp32 gradients: " << fp32;
    EXPECT_LE(m.total() / 1e12, 1.4) << "fp32 gradients: " << fp32;
  }
}

TEST(SeedFigures, SevenBLoraFp16IsAbout16GB) {
  // seed 001: 7B LoRA (FP16) 16 GB -> 13.6-18.4 GB.
  for (const char* name : {"deepseek-r1-distill-qwen-7b", "seed-003-7b"}) {
    const MemoryEstimate m =
        memory_of(load_preset(name), seed_001(Method::lora, WeightFormat::fp16));
    EXPECT_NEAR(gb(m.total()), 16, 16 * 0.15) << name;
  }
}

TEST(SeedFigures, SevenBQloraInt4IsAbout6GB) {
  // seed 001: 7B QLoRA (INT4) 6 GB -> 5.1-6.9 GB, for a LLaMA-shaped 7B (seed 003's).
  const MemoryEstimate llama =
      memory_of(load_preset("seed-003-7b"), seed_001(Method::qlora, WeightFormat::int4));
  EXPECT_NEAR(gb(llama.total()), 6, 6 * 0.15);
  // R1-Distill-Qwen-7B keeps 1.09B embedding + lm_head parameters in bf16 (2.18 GB):
  // 7.7 GB, above the seed's figure (docs/planner.md, "where the seeds are wrong").
  const MemoryEstimate qwen = memory_of(load_preset("deepseek-r1-distill-qwen-7b"),
                                        seed_001(Method::qlora, WeightFormat::int4));
  EXPECT_GT(gb(qwen.total()), 6 * 1.15);
  EXPECT_LT(gb(qwen.total()), 8.0);
}

TEST(SeedFigures, ThirtyTwoBQloraInt4IsAbout24GB) {
  // seed 001: 32B QLoRA (INT4) 24 GB -> 20.4-27.6 GB.
  const MemoryEstimate m = memory_of(load_preset("deepseek-r1-distill-qwen-32b"),
                                     seed_001(Method::qlora, WeightFormat::int4));
  EXPECT_NEAR(gb(m.total()), 24, 24 * 0.15);
}

TEST(SeedFigures, TheRestOfSeed001sFineTuningTable) {
  struct Row {
    const char* model;
    Method method;
    WeightFormat base;
    double seed_gb;
  };
  const Row rows[] = {
      {"deepseek-r1-distill-qwen-7b", Method::qlora, WeightFormat::int8, 10},
      {"deepseek-r1-distill-qwen-14b", Method::lora, WeightFormat::fp16, 32},
      {"deepseek-r1-distill-qwen-14b", Method::qlora, WeightFormat::int8, 20},
      {"deepseek-r1-distill-qwen-14b", Method::qlora, WeightFormat::int4, 12},
      {"deepseek-r1-distill-qwen-32b", Method::lora, WeightFormat::fp16, 65},
      {"deepseek-r1-distill-qwen-32b", Method::qlora, WeightFormat::int8, 40},
  };
  for (const Row& row : rows) {
    const MemoryEstimate m = memory_of(load_preset(row.model), seed_001(row.method, row.base));
    EXPECT_NEAR(gb(m.total()), row.seed_gb, row.seed_gb * 0.15)
        << row.model << " " << to_string(row.method) << " " << to_string(row.base);
  }
}

TEST(SeedFigures, SevenBWeightsAre28GBInFp32And14GBInBf16) {
  // seed 003 sec. 1.1: "FP32 about 28 GB, BF16 14 GB" - the weights alone.
  EXPECT_DOUBLE_EQ(memory_of(bare(7e9), inference(WeightFormat::fp32)).weights, 28e9);
  EXPECT_DOUBLE_EQ(memory_of(bare(7e9), inference(WeightFormat::bf16)).weights, 14e9);
  // Seed 003's own 7B configuration has 6.90B parameters: 27.6 and 13.8 GB.
  const ModelSpec seed = load_preset("seed-003-7b");
  EXPECT_NEAR(gb(memory_of(seed, inference(WeightFormat::fp32)).weights), 28, 0.5);
  EXPECT_NEAR(gb(memory_of(seed, inference(WeightFormat::bf16)).weights), 14, 0.25);
  // Training that model needs far more than its weights (seed 003 says 28/14 GB): 16 bytes
  // per parameter in either precision, 110 GB.
  PlanSettings full = defaults_for(Method::full);
  full.precision = Precision::fp32;
  EXPECT_DOUBLE_EQ(weights_and_states(memory_of(bare(7e9), full)), 16 * 7e9);
  full.precision = Precision::mixed;
  EXPECT_DOUBLE_EQ(weights_and_states(memory_of(bare(7e9), full)), 16 * 7e9);
}

TEST(SeedFigures, SeventyBFullFineTuningNeeds14To16H100s) {
  // seed 004: "at least 12-16 x 80 GB just to hold it" with ZeRO-3.
  const Plan plan = plan_on(load_preset("deepseek-r1-distill-llama-70b"),
                            defaults_for(Method::full), "h100-80gb");
  ASSERT_TRUE(plan.search.front().best);
  const int gpus = plan.search.front().best->layout.gpus();
  EXPECT_GE(gpus, 12);
  EXPECT_LE(gpus, 16);
}

}  // namespace
}  // namespace lmf::planner::test
