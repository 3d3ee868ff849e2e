// Parameter counts against arithmetic written out here from each architecture, and against
// the totals the model cards publish. None of the expected values comes from the planner.
#include "tests/planner/planner_test_support.h"

#include "core/planner/hf_config_reader.h"
#include "core/planner/param_count.h"

#include <gtest/gtest.h>

namespace lmf::planner::test {
namespace {

ParamCounts counts_of_preset(const std::string& name) {
  return count_parameters(load_preset(name));
}

// Llama/Qwen2 layer: q, k, v, o + SwiGLU + two RMSNorms (+ q/k/v biases for Qwen2).
double dense_layer(double h, double heads, double kv, double d, double i, bool qkv_bias) {
  const double attention = h * heads * d + 2 * h * kv * d + heads * d * h;
  const double bias = qkv_bias ? heads * d + 2 * kv * d : 0;
  return attention + bias + 3 * h * i + 2 * h;
}

TEST(ParamCount, DistillQwen7BExact) {
  // 28 layers, h 3584, 28 heads of 128, 4 KV heads, i 18944, V 152064, untied.
  const double expected =
      2 * 152064.0 * 3584 + 28 * dense_layer(3584, 28, 4, 128, 18944, true) + 3584;
  const ParamCounts counts = counts_of_preset("deepseek-r1-distill-qwen-7b");
  EXPECT_DOUBLE_EQ(counts.total, expected);
  EXPECT_DOUBLE_EQ(counts.total, 7'615'616'512.0);
  EXPECT_NEAR(counts.total / 1e9, 7.62, 0.01);  // model card: 7.62B
  EXPECT_DOUBLE_EQ(counts.active, counts.total);
  EXPECT_DOUBLE_EQ(counts.matmul_active, expected - 152064.0 * 3584);
}

TEST(ParamCount, DistillQwenFamilyAgainstModelCards) {
  // deepseek-ai model cards (safetensors totals): 1.78B, 7.62B, 14.8B, 32.8B.
  EXPECT_NEAR(counts_of_preset("deepseek-r1-distill-qwen-1.5b").total / 1e9, 1.78, 0.01);
  EXPECT_NEAR(counts_of_preset("deepseek-r1-distill-qwen-14b").total / 1e9, 14.77, 0.05);
  EXPECT_NEAR(counts_of_preset("deepseek-r1-distill-qwen-32b").total / 1e9, 32.76, 0.05);
  EXPECT_DOUBLE_EQ(counts_of_preset("deepseek-r1-distill-qwen-32b").total,
                   2 * 152064.0 * 5120 + 64 * dense_layer(5120, 40, 8, 128, 27648, true) + 5120);
}

TEST(ParamCount, DistillLlama8BIsLlama3At8_03B) {
  const double expected =
      2 * 128256.0 * 4096 + 32 * dense_layer(4096, 32, 8, 128, 14336, false) + 4096;
  EXPECT_DOUBLE_EQ(counts_of_preset("deepseek-r1-distill-llama-8b").total, expected);
  EXPECT_NEAR(expected / 1e9, 8.03, 0.005);  // Llama-3-8B: 8.03B
}

TEST(ParamCount, DistillLlama70BIs70_6B) {
  const double expected =
      2 * 128256.0 * 8192 + 80 * dense_layer(8192, 64, 8, 128, 28672, false) + 8192;
  EXPECT_DOUBLE_EQ(counts_of_preset("deepseek-r1-distill-llama-70b").total, expected);
  EXPECT_NEAR(expected / 1e9, 70.55, 0.01);                               // Llama-3.3-70B: 70.6B
  EXPECT_DOUBLE_EQ(counts_of_preset("deepseek-r1-70b").total, expected);  // the seeds' name
}

TEST(ParamCount, DeepSeekLlm67B) {
  // 95 layers, h 8192, 64 heads, 8 KV heads, i 22016, V 102400: "67B".
  const double expected =
      2 * 102400.0 * 8192 + 95 * dense_layer(8192, 64, 8, 128, 22016, false) + 8192;
  EXPECT_DOUBLE_EQ(counts_of_preset("deepseek-llm-67b-base").total, expected);
  EXPECT_NEAR(expected / 1e9, 67.4, 0.1);
}

TEST(ParamCount, DeepSeekMoe16BTotalAndActive) {
  // Layer 0 dense (i 10944); 27 MoE layers: 64 routed + 2 shared experts of 1408, 6 active.
  const double h = 2048, expert = 3 * h * 1408;
  const double attention = 4 * h * h, norms = 2 * h;
  const double dense = attention + 3 * h * 10944 + norms;
  const double moe = attention + 64 * expert + 2 * expert + 64 * h + norms;
  const double moe_active = attention + 6 * expert + 2 * expert + 64 * h + norms;
  const double embeddings = 2 * 102400 * h;
  const ParamCounts counts = counts_of_preset("deepseek-moe-16b-base");
  EXPECT_DOUBLE_EQ(counts.total, embeddings + dense + 27 * moe + h);
  EXPECT_DOUBLE_EQ(counts.active, embeddings + dense + 27 * moe_active + h);
  EXPECT_NEAR(counts.total / 1e9, 16.4, 0.05);  // DeepSeekMoE paper: 16.4B
  EXPECT_NEAR(counts.active / 1e9, 2.8, 0.05);  // 2.8B activated
}

TEST(ParamCount, DeepSeekV2LiteWithLatentAttention) {
  // MLA without q compression: q 2048->16*(128+64), kv_a 2048->512+64, kv_b 512->16*(128+128),
  // o 16*128->2048, plus the kv_a norm (512).
  const double h = 2048;
  const double attention = h * 16 * 192 + h * 576 + 512 * 16 * 256 + 16 * 128 * h + 512;
  const double expert = 3 * h * 1408;
  const double dense = attention + 3 * h * 10944 + 2 * h;
  const double moe = attention + 66 * expert + 64 * h + 2 * h;
  const ParamCounts counts = counts_of_preset("deepseek-v2-lite");
  EXPECT_DOUBLE_EQ(counts.total, 2 * 102400 * h + dense + 26 * moe + h);
  EXPECT_NEAR(counts.total / 1e9, 15.7, 0.05);  // DeepSeek-V2 paper: 15.7B total
  // The paper's 2.4B activated leaves out the embeddings: ours counts the input table
  // (a lookup) out of N.
  EXPECT_NEAR(counts.matmul_active / 1e9, 2.45, 0.05);
}

TEST(ParamCount, DeepSeekR1Is671B) {
  // V3 architecture: q_lora 1536, 3 dense layers, 58 MoE layers of 256 + 1 experts (2048),
  // 8 active, router bias (noaux_tc). The MTP layer is not counted (671B, not 685B).
  const double h = 7168;
  const double attention =
      h * 1536 + 1536 + 1536 * 128 * 192 + h * 576 + 512 + 512 * 128 * 256 + 128 * 128 * h;
  const double expert = 3 * h * 2048;
  const double dense = attention + 3 * h * 18432 + 2 * h;
  const double moe = attention + 257 * expert + 256 * h + 256 + 2 * h;
  const ParamCounts counts = counts_of_preset("deepseek-r1");
  EXPECT_DOUBLE_EQ(counts.total, 2 * 129280 * h + 3 * dense + 58 * moe + h);
  EXPECT_NEAR(counts.total / 1e9, 671.0, 0.5);  // DeepSeek-V3 report: 671B total
  EXPECT_NEAR(counts.active / 1e9, 37.5, 0.6);  // 37B activated
}

TEST(ParamCount, HuggingFaceConfigs) {
  // Meta-Llama-3-8B: 8.03B.
  EXPECT_NEAR(count_parameters(read_hf_config(fixture("llama-3-8b"))).total / 1e9, 8.03, 0.005);
  // Qwen2.5-7B: 7.61B (model card).
  EXPECT_NEAR(count_parameters(read_hf_config(fixture("qwen2.5-7b.json"))).total / 1e9, 7.62, 0.01);
  // Qwen3-8B: head_dim 128 given, q/k norms: 8.19B ("8.2B").
  const double h = 4096;
  const double qwen3_layer =
      h * 32 * 128 + 2 * h * 8 * 128 + 32 * 128 * h + 2 * 128 + 3 * h * 12288 + 2 * h;
  EXPECT_DOUBLE_EQ(count_parameters(read_hf_config(fixture("qwen3-8b.json"))).total,
                   2 * 151936 * h + 36 * qwen3_layer + h);
}

TEST(ParamCount, TiedEmbeddingsCountOnce) {
  // Qwen2.5-1.5B ties its embeddings: 1.54B, where the untied R1-Distill-1.5B is 1.78B.
  const ParamCounts tied = count_parameters(read_hf_config(fixture("qwen2.5-1.5b.json")));
  const double expected = 151936.0 * 1536 + 28 * dense_layer(1536, 12, 2, 128, 8960, true) + 1536;
  EXPECT_DOUBLE_EQ(tied.total, expected);
  EXPECT_NEAR(tied.total / 1e9, 1.54, 0.005);
  EXPECT_DOUBLE_EQ(tied.lm_head, 0);
  EXPECT_DOUBLE_EQ(tied.matmul_active, tied.total);  // the shared matrix is the output layer
}

TEST(ParamCount, MixtralAndQwenMoe) {
  // Mixtral-8x7B: 46.7B total, 12.9B active.
  const ParamCounts mixtral = count_parameters(read_hf_config(fixture("mixtral-8x7b.json")));
  const double h = 4096, expert = 3 * h * 14336;
  const double attention = 2 * h * h + 2 * h * 1024;
  EXPECT_DOUBLE_EQ(mixtral.total,
                   2 * 32000 * h + 32 * (attention + 8 * expert + 8 * h + 2 * h) + h);
  EXPECT_NEAR(mixtral.total / 1e9, 46.7, 0.05);
  EXPECT_NEAR(mixtral.active / 1e9, 12.9, 0.05);
  // Qwen1.5-MoE-A2.7B: 60 experts of 1408 (4 active), one shared MLP of 5632 with a gate,
  // q/k/v biases: 14.3B total, 2.7B active.
  const ParamCounts qwen = count_parameters(read_hf_config(fixture("qwen1.5-moe-a2.7b.json")));
  const double q = 2048;
  const double layer = 4 * q * q + 3 * q + 60 * 3 * q * 1408 + 3 * q * 5632 + 60 * q + q + 2 * q;
  EXPECT_DOUBLE_EQ(qwen.total, 2 * 151936 * q + 24 * layer + q);
  EXPECT_NEAR(qwen.total / 1e9, 14.3, 0.05);
  EXPECT_NEAR(qwen.active / 1e9, 2.7, 0.05);
}

TEST(ParamCount, BareCountIsTakenAsGiven) {
  const ParamCounts counts = count_parameters(bare(70e9));
  EXPECT_DOUBLE_EQ(counts.total, 70e9);
  EXPECT_DOUBLE_EQ(counts.matmul_active, 70e9);
  EXPECT_DOUBLE_EQ(counts.embedding, 0);
}

}  // namespace
}  // namespace lmf::planner::test
