// AutoAWQ's grid (Note [AWQ grid]) on groups worked out by hand.
#include "awq_grid.h"
#include "awq_test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <vector>

namespace {

using namespace lmf::quant::awq;
using lmf::quant::awq::testing::expect_error;

torch::Tensor row(std::vector<float> values) {
  return torch::tensor(values).reshape({1, -1});
}

AwqOptions groups_of(int64_t size, bool zero_point = true) {
  AwqOptions o;
  o.group_size = size;
  o.zero_point = zero_point;
  return o;
}

// Group 0: m = −1.25, M = 2.5: scale 3.75/15 = 0.25, z = −round(−5) = 5; codes 0, 5,
// round(1.2) + 5 = 6, 10 + 5 = 15. Group 1, all positive: m = 1, M = 4.75: scale 0.25,
// z = −round(4) = −4 clamps to 0, so 4.75 (19 steps) clamps to code 15 = 3.75 — AutoAWQ's
// grid does not stretch to contain 0.
TEST(AwqGrid, AsymmetricGroupsAsWorkedOutByHand) {
  const torch::Tensor w = row({-1.25f, 0.0f, 0.3f, 2.5f, 1.0f, 1.75f, 4.75f, 2.0f});
  for (GridRule rule : {GridRule::kReference, GridRule::kCheckpoint}) {
    const AwqQuantized q = quantize_groups(w, groups_of(4), rule, "layer");
    EXPECT_TRUE(torch::equal(q.codes, row({0, 5, 6, 15, 4, 7, 15, 8})));
    EXPECT_TRUE(torch::equal(q.scales, row({0.25f, 0.25f})));
    EXPECT_TRUE(torch::equal(q.zeros, row({5, 0})));
    EXPECT_TRUE(
        torch::equal(q.dequantized, row({-1.25f, 0.0f, 0.25f, 2.5f, 1.0f, 1.75f, 3.75f, 2.0f})));
    EXPECT_TRUE(torch::equal(pseudo_quantize(w, groups_of(4)), q.dequantized));
  }
}

// Ties round to even (torch.round): scale 0.25 (m = −1.25, M = 2.5 again); 0.375 / 0.25 =
// 1.5 → 2 and 0.625 / 0.25 = 2.5 → 2, both plus z = 5.
TEST(AwqGrid, TiesRoundToEven) {
  const AwqQuantized q =
      quantize_groups(row({-1.25f, 0.375f, 0.625f, 2.5f}), groups_of(4), GridRule::kReference, "l");
  EXPECT_TRUE(torch::equal(q.codes, row({0, 7, 7, 15})));
}

// Without a zero point: scale = max|w| / 7 = 0.2, codes round(w / 0.2) in −8…7.
TEST(AwqGrid, SymmetricGroupAsWorkedOutByHand) {
  const AwqQuantized q = quantize_groups(row({-1.4f, 0.25f, 0.65f, -0.45f}), groups_of(4, false),
                                         GridRule::kReference, "layer");
  EXPECT_TRUE(torch::equal(q.codes, row({-7, 1, 3, -2})));
  EXPECT_NEAR(q.scales.item<float>(), 0.2f, 1e-7);
  EXPECT_TRUE(torch::equal(q.zeros, row({0})));
  EXPECT_TRUE(torch::allclose(q.dequantized, row({-1.4f, 0.2f, 0.6f, -0.4f}), 0, 1e-6));
}

// A zero group: scale 1e-5 / 15 (the clamp), z = 0, codes 0, dequantized exactly 0.
TEST(AwqGrid, ZeroGroupStaysZero) {
  const AwqQuantized q =
      quantize_groups(torch::zeros({2, 8}), groups_of(4), GridRule::kReference, "layer");
  EXPECT_TRUE(torch::equal(q.dequantized, torch::zeros({2, 8})));
  EXPECT_TRUE(torch::equal(q.codes, torch::zeros({2, 8})));
  EXPECT_NEAR(q.scales[0][0].item<float>(), 1e-5 / 15, 1e-12);
}

// kCheckpoint rounds the scale to fp16 before choosing codes: range 1.0 gives 1/15, whose
// fp16 is 0x2c44 = 0.066650390625; the codes then follow that scale.
TEST(AwqGrid, CheckpointRuleChoosesCodesForTheFp16Scale) {
  const torch::Tensor w = row({0.0f, 0.2f, 0.5f, 1.0f});
  const AwqQuantized q = quantize_groups(w, groups_of(4), GridRule::kCheckpoint, "layer");
  EXPECT_EQ(q.scales.item<float>(), 0.066650390625f);
  // 1.0 / 0.06665 = 15.0037 → 15; 0.5 → 7.5018 → 8; 0.2 → 3.0007 → 3.
  EXPECT_TRUE(torch::equal(q.codes, row({0, 3, 8, 15})));
  EXPECT_TRUE(torch::equal(q.dequantized, q.codes * 0.066650390625f));
}

TEST(AwqGrid, MatchesTheDoublePrecisionTranscriptionOnRandomWeights) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({16, 256}) * 0.02;
  EXPECT_TRUE(torch::allclose(pseudo_quantize(w, groups_of(128)).to(torch::kFloat64),
                              lmf::quant::awq::testing::reference_pseudo_quantize(w, 128), 0,
                              1e-7));
  // In float32 arithmetic, step for step as torch's ops round: bit for bit.
  EXPECT_TRUE(torch::equal(pseudo_quantize(w, groups_of(128)),
                           lmf::quant::awq::testing::reference_pseudo_quantize<float>(w, 128)));
}

TEST(AwqGrid, RefusalsNameLayerAndField) {
  const torch::Tensor w = torch::ones({2, 8});
  AwqOptions three_bits;
  three_bits.bits = 3;
  expect_error([&] { quantize_groups(w, three_bits, GridRule::kCheckpoint, "blk.2.v_proj"); },
               {"blk.2.v_proj", "bits must be 4", "got 3"});
  expect_error([&] { quantize_groups(w, groups_of(3), GridRule::kCheckpoint, "blk.2.v_proj"); },
               {"blk.2.v_proj", "group_size 3 does not divide in_features 8"});
  torch::Tensor bad = w.clone();
  bad[1][5] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { quantize_groups(bad, groups_of(4), GridRule::kCheckpoint, "blk.2.v_proj"); },
               {"blk.2.v_proj", "weight holds NaN at [1, 5]"});
  // A range of 2e6 needs a scale of 2e6 / 15, beyond fp16's 65504.
  const torch::Tensor wide = row({0.0f, 2e6f, 0.0f, 0.0f});
  expect_error([&] { quantize_groups(wide, groups_of(4), GridRule::kCheckpoint, "blk.2.v_proj"); },
               {"blk.2.v_proj", "scales"});
  AwqOptions symmetric = groups_of(4, false);
  const AwqQuantized q = quantize_groups(w, symmetric, GridRule::kCheckpoint, "blk.2.v_proj");
  expect_error([&] { to_quantized_codes(q, symmetric, "blk.2.v_proj"); },
               {"blk.2.v_proj", "zero_point false"});
}

}  // namespace
