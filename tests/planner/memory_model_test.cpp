// Memory per GPU: bytes per parameter of each format and state, ZeRO sharding, offload,
// the KV cache, LoRA adapters, pipeline stages.
#include "tests/planner/planner_test_support.h"

#include "core/planner/bytes_per_param.h"
#include "core/planner/kv_cache.h"
#include "core/planner/lora_params.h"

#include <gtest/gtest.h>

namespace lmf::planner::test {
namespace {

TEST(BytesPerParam, QuantizedFormats) {
  const ModelSpec model = load_preset("deepseek-r1-distill-llama-70b");
  PlanSettings s = defaults_for(Method::inference);
  s.weights = WeightFormat::int4;
  EXPECT_DOUBLE_EQ(weight_bytes(s, model).matrices, 0.5 + 2.5 / 128);  // 4.156 bits
  s.group_size = 32;
  EXPECT_DOUBLE_EQ(weight_bytes(s, model).matrices, 0.5 + 2.5 / 32);
  s.weights = WeightFormat::int8;
  EXPECT_DOUBLE_EQ(weight_bytes(s, model).matrices, 1 + 2.0 / 8192);
  EXPECT_DOUBLE_EQ(weight_bytes(s, model).other, 2);  // embeddings stay 16-bit
  PlanSettings q = defaults_for(Method::qlora);
  // QLoRA paper sec. 3: double quantization costs 8/64 + 32/(64*256) = 0.127 bits.
  EXPECT_DOUBLE_EQ(weight_bytes(q, model).matrices * 8, 4 + 8.0 / 64 + 32.0 / (64 * 256));
  q.double_quant = false;
  EXPECT_DOUBLE_EQ(weight_bytes(q, model).matrices * 8, 4 + 32.0 / 64);
}

TEST(BytesPerParam, TrainingStates) {
  PlanSettings s = defaults_for(Method::full);
  StateBytes b = state_bytes(s);
  EXPECT_DOUBLE_EQ(b.weights + b.gradients + b.optimizer, 16);  // ZeRO paper: 2 + 2 + 12
  s.precision = Precision::bf16;
  b = state_bytes(s);
  EXPECT_DOUBLE_EQ(b.weights + b.gradients + b.optimizer, 8);
  s.precision = Precision::mixed;
  s.optimizer = Optimizer::sgd;
  b = state_bytes(s);
  EXPECT_DOUBLE_EQ(b.optimizer, 8);  // fp32 master + momentum
  PlanSettings lora = defaults_for(Method::lora);
  b = state_bytes(lora);
  EXPECT_DOUBLE_EQ(b.weights + b.gradients + b.optimizer, 16);  // fp32 adapters + Adam
}

TEST(MemoryModel, ZeroStagesShardOverDataParallelRanks) {
  // 16 bytes/param over DP 8 (Rajbhandari et al. 2020, fig. 1): P(2+2+12) at stage 0,
  // P(2+2+12/8) at 1, P(2+(2+12)/8) at 2, P(16/8) at 3.
  const double p = 7.5e9, n = 8;
  PlanSettings s = defaults_for(Method::full);
  s.checkpointing = Checkpointing::none;
  const double expected[] = {p * 16, p * (4 + 12 / n), p * (2 + 14 / n), p * 16 / n};
  for (int stage = 0; stage <= 3; ++stage) {
    s.zero = stage;
    const MemoryEstimate m = memory_of(bare(p), s, Layout{1, 1, 8, 1});
    EXPECT_DOUBLE_EQ(m.weights + m.gradients + m.optimizer, expected[stage]) << "ZeRO " << stage;
  }
}

TEST(MemoryModel, OffloadMovesStatesToTheHost) {
  PlanSettings s = defaults_for(Method::full);
  s.zero = 3;
  s.offload_optimizer = true;
  s.offload_params = true;
  const MemoryEstimate m = memory_of(bare(7e9), s, Layout{1, 1, 8, 1});
  EXPECT_DOUBLE_EQ(m.weights, 0);
  EXPECT_DOUBLE_EQ(m.optimizer, 0);
  // Per GPU process on the host: bf16 weights 2 + fp32 master/Adam 12 + fp32 gradients 4,
  // each over the 8 ranks.
  EXPECT_DOUBLE_EQ(m.host_bytes, 7e9 / 8 * (2 + 12 + 4));
}

TEST(MemoryModel, TensorParallelSplitsMatricesNotNorms) {
  const ModelSpec model = load_preset("deepseek-r1-distill-llama-70b");
  PlanSettings s = defaults_for(Method::inference);
  const MemoryEstimate one = memory_of(model, s);
  const MemoryEstimate eight = memory_of(model, s, Layout{8, 1, 1, 1});
  const double norms = (80 * 2 + 1) * 8192.0 * 2;  // replicated on every rank, bf16
  EXPECT_NEAR(eight.weights, (one.weights - norms) / 8 + norms, 1);
}

TEST(MemoryModel, PipelineStagesHoldTheirLayers) {
  // 80 layers over 4 stages: the first holds the embedding and keeps the most activations
  // in flight (1F1B), the last the lm_head and the logits.
  const ModelSpec model = load_preset("deepseek-r1-distill-llama-70b");
  PlanSettings s = defaults_for(Method::full);
  s.zero = 0;
  s.grad_accum = 8;
  // Whole logits on the last stage (--trainer hf) but four micro-batches in flight on the
  // first: the first is the fullest. (lmforge's chunked loss keeps one 4096-token chunk
  // at 8 bytes, which makes the last stage the fullest here.)
  s.trainer = Trainer::hf;
  const MemoryEstimate m = memory_of(model, s, Layout{1, 4, 1, 1});
  EXPECT_EQ(m.stage, 0);
  EXPECT_EQ(m.stage_layers, 20);
  const double stage_params = 20 * (150994944.0 + 704643072.0 + 2 * 8192) + 128256.0 * 8192;
  EXPECT_NEAR(m.weights, 2 * stage_params, 1);
}

TEST(MemoryModel, StageLayersAreBalanced) {
  const std::vector<std::int64_t> stages = stage_layers(95, 16);  // DeepSeek 67B over PP 16
  EXPECT_EQ(stages.front(), 6);
  EXPECT_EQ(stages.back(), 5);
  std::int64_t sum = 0;
  for (std::int64_t layers : stages) sum += layers;
  EXPECT_EQ(sum, 95);
}

TEST(KvCache, StandardGqaAndLatent) {
  PlanSettings s = defaults_for(Method::inference);
  s.context = 1000;
  const ModelSpec llama = load_preset("deepseek-r1-distill-llama-70b");
  // 2 x layers x kv_heads x head_dim x bytes per token (Note [KV cache]).
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(llama, 80, 1, 2), 2.0 * 80 * 8 * 128 * 2);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(llama, 80, 8, 2), 2.0 * 80 * 1 * 128 * 2);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(llama, 80, 16, 2), 2.0 * 80 * 1 * 128 * 2);  // replicated
  EXPECT_DOUBLE_EQ(kv_cache_bytes(llama, s, 80, 1, 3), 2.0 * 80 * 8 * 128 * 2 * 1000 * 3);
  // MLA caches 512 + 64 values per token and layer, the same on every TP rank.
  const ModelSpec lite = load_preset("deepseek-v2-lite");
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(lite, 27, 1, 2), 27.0 * 576 * 2);
  EXPECT_DOUBLE_EQ(kv_bytes_per_token(lite, 27, 4, 2), 27.0 * 576 * 2);
}

TEST(LoraParams, RankTimesInPlusOut) {
  const ModelSpec model = load_preset("deepseek-r1-distill-qwen-7b");
  // q, k, v, o, gate, up, down of one layer, r = 16.
  const double h = 3584, kv = 512, i = 18944, r = 16;
  const double layer = r * ((h + h) + 2 * (h + kv) + (h + h) + 2 * (h + i) + (i + h));
  const LoraCounts all = count_lora(model, {"q", "k", "v", "o", "gate", "up", "down"}, 16);
  EXPECT_DOUBLE_EQ(all.total, 28 * layer);
  const LoraCounts qv = count_lora(model, {"q", "v"}, 8);
  EXPECT_DOUBLE_EQ(qv.total, 28 * 8 * ((h + h) + (h + kv)));
}

TEST(LoraParams, ExpertsEachGetAdapters) {
  const ModelSpec model = load_preset("deepseek-moe-16b-base");
  const LoraCounts counts = count_lora(model, {"up"}, 4);
  const double h = 2048;
  // dense layer 0: up (h -> 10944); MoE layers: 64 routed + the shared MLP (2 x 1408).
  const double dense = 4 * (h + 10944);
  const double moe = 64 * 4 * (h + 1408) + 4 * (h + 2816);
  EXPECT_DOUBLE_EQ(counts.total, dense + 27 * moe);
}

}  // namespace
}  // namespace lmf::planner::test
