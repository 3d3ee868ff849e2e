// The activation model against Korthikanti et al. 2022, "Reducing Activation Recomputation
// in Large Transformer Models", sec. 4 (16-bit activations, bytes per layer):
//   no parallelism                      sbh (34 + 5as/h)
//   tensor parallel t, no sequence par. sbh (10 + 24/t + 5as/(ht))
//   tensor + sequence parallel          sbh (34/t + 5as/(ht))
//   + selective recomputation           sbh 34/t
//   full recomputation                  2sbh per layer (its input)
#include "tests/planner/planner_test_support.h"

#include "core/planner/activation_model.h"

#include <gtest/gtest.h>

namespace lmf::planner::test {
namespace {

// A GPT layer as the paper has it: GELU MLP of 4h, dropout, no GQA.
ModelSpec gpt(std::int64_t h, std::int64_t a) {
  ModelSpec m;
  m.name = "gpt";
  m.hidden = h;
  m.heads = a;
  m.kv_heads = a;
  m.head_dim = h / a;
  m.intermediate = 4 * h;
  m.layers = 1;
  m.vocab = 51200;
  m.mlp = MlpKind::plain;
  m.dropout = true;
  return m;
}

ActivationShape shape(double s, double b, int t, bool sp) {
  ActivationShape shape;
  shape.seq = s;
  shape.batch = b;
  shape.tp = t;
  shape.sequence_parallel = sp;
  shape.attention = AttentionImpl::eager;
  return shape;
}

// GPT-3 175B's layer, as in the paper's Table 2: h 12288, a 96, s 2048.
constexpr double h = 12288, a = 96, s = 2048, b = 1;

TEST(ActivationModel, PaperFormulaWithoutParallelism) {
  const double expected = s * b * h * (34 + 5 * a * s / h);
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, shape(s, b, 1, false)), expected);
}

TEST(ActivationModel, TensorParallelWithoutSequenceParallel) {
  const double t = 8;
  const double expected = s * b * h * (10 + 24 / t + 5 * a * s / (h * t));
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, shape(s, b, 8, false)), expected);
}

TEST(ActivationModel, TensorAndSequenceParallel) {
  const double t = 8;
  const double expected = s * b * h * (34 / t + 5 * a * s / (h * t));
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, shape(s, b, 8, true)), expected);
}

TEST(ActivationModel, SelectiveRecomputationDropsTheAttentionCore) {
  ActivationShape selective = shape(s, b, 8, true);
  selective.recompute_attention_core = true;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(gpt(12288, 96), false, selective), s * b * h * 34 / 8);
}

TEST(ActivationModel, FullRecomputationKeepsTheLayerInput) {
  EXPECT_DOUBLE_EQ(checkpoint_bytes(gpt(12288, 96), shape(s, b, 1, false)), 2 * s * b * h);
  EXPECT_DOUBLE_EQ(checkpoint_bytes(gpt(12288, 96), shape(s, b, 8, true)), 2 * s * b * h / 8);
}

TEST(ActivationModel, FlashAttentionKeepsNoScoreMatrix) {
  // Without dropout and with FlashAttention the as^2b terms become the fp32 log-sum-exp.
  ModelSpec m = gpt(12288, 96);
  m.dropout = false;
  ActivationShape flash = shape(s, b, 1, false);
  flash.attention = AttentionImpl::flash;
  // Norm inputs and outputs 8sbh + q,k,v,o 8sbh + GELU input and output 16sbh = 32sbh
  // (the paper's 34 less its two dropout masks), + the fp32 log-sum-exp 4asb.
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, flash), 32 * s * b * h + 4 * a * s * b);
}

TEST(ActivationModel, SwiGluAndGroupedQueryAttention) {
  // Llama-3-8B layer, flash: norm inputs and outputs 4 x 2sbh, Q and O 2sb*4096 each, K and
  // V 2sb*1024 each, gate/up/SiLU/product 4 x 2sb*14336, log-sum-exp 4asb.
  const ModelSpec m = load_preset("deepseek-r1-distill-llama-8b");
  ActivationShape flash = shape(4096, 2, 1, false);
  flash.attention = AttentionImpl::flash;
  const double tokens = 4096 * 2;
  const double expected = 8 * tokens * 4096 + 2 * tokens * (4096 + 1024 + 1024 + 4096) +
                          8 * tokens * 14336 + 4 * 32 * tokens;
  EXPECT_DOUBLE_EQ(layer_activation_bytes(m, false, flash), expected);
}

TEST(ActivationModel, OutputLayerKeepsLogits) {
  const ModelSpec m = load_preset("deepseek-r1-distill-qwen-7b");
  ActivationShape one = shape(512, 1, 1, false);
  // final norm input and output 2 x 2sbh, logits 6 bytes x s x V.
  EXPECT_DOUBLE_EQ(output_activation_bytes(m, one, 6), 4 * 512.0 * 3584 + 6 * 512.0 * 152064);
}

}  // namespace
}  // namespace lmf::planner::test
