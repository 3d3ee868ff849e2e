// AWQ's clipping search (Note [AWQ clip search]) against per-group errors computed here in
// double, and on a group whose best threshold is known to be below its maximum.
#include "awq_clip_search.h"
#include "awq_test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <vector>

namespace {

using namespace lmf::quant::awq;
using lmf::quant::awq::testing::expect_error;
using lmf::quant::awq::testing::reference_pseudo_quantize;

constexpr int64_t kGroup = 64;

AwqOptions options() {
  AwqOptions o;
  o.group_size = kGroup;
  return o;
}

// mean over `x`'s tokens of the squared error of group g's share of output row o when the
// row's group is clamped to ±c and quantized on the reference grid in float32 arithmetic,
// as the search quantizes (in double, a group at a near-tie of round() can round the
// other way and come out worse than the float32 search saw it: seen at 1 group in 160).
double group_error(const torch::Tensor& x, const torch::Tensor& w, int64_t o, int64_t g, double c) {
  const torch::Tensor wd = w.to(torch::kFloat64)[o].slice(0, g * kGroup, (g + 1) * kGroup);
  const torch::Tensor q =
      reference_pseudo_quantize<float>(wd.clamp(-c, c).reshape({1, -1}), kGroup)[0].to(
          torch::kFloat64);
  const torch::Tensor xd = x.to(torch::kFloat64).slice(1, g * kGroup, (g + 1) * kGroup);
  return (xd.matmul(q) - xd.matmul(wd)).square().mean().item<double>();
}

TEST(AwqClipSearch, ThresholdsAreOnTheShrinkGridAndNeverRaiseTheError) {
  torch::manual_seed(11);
  const torch::Tensor x = torch::randn({300, 256}) * torch::exp(torch::rand({256}) * 2 - 1);
  // Heavy-tailed weights (Student-t like): clipping pays on some groups, not on others.
  const torch::Tensor w = torch::randn({40, 256}) * 0.02 / torch::rand({40, 256}).add(0.05).sqrt();
  const ClipSearchResult got = search_clip(w, x, options(), "blk.0.mlp.down_proj");
  ASSERT_TRUE(got.searched);
  ASSERT_EQ(got.max_val.sizes().vec(), (std::vector<int64_t>{40, 4}));
  const torch::Tensor original = w.reshape({40, 4, kGroup}).abs().amax(2);
  int clipped = 0;
  for (int64_t o = 0; o < 40; ++o)
    for (int64_t g = 0; g < 4; ++g) {
      const double c = got.max_val[o][g].item<double>(), m = original[o][g].item<double>();
      const double steps = (1.0 - c / m) * 20.0;  // which k of the grid 1 − k/20
      EXPECT_NEAR(steps, std::round(steps), 1e-4) << o << ", " << g;
      EXPECT_GE(std::round(steps), 0.0);
      EXPECT_LE(std::round(steps), 9.0);
      clipped += c < m;
      EXPECT_LE(group_error(x, w, o, g, c), group_error(x, w, o, g, m) * (1 + 1e-5) + 1e-12)
          << o << ", " << g << " c " << c << " m " << m;
    }
  EXPECT_GT(clipped, 0) << "heavy tails should make some groups clip";
  EXPECT_TRUE(torch::equal(got.weight, apply_clip(w, got.max_val, options())));
  EXPECT_TRUE(torch::equal(got.weight.abs().reshape({40, 4, kGroup}).amax(2) <= got.max_val,
                           torch::ones({40, 4}, torch::kBool)));
}

// Row 0's first group: small weights (std 0.02) and one of 0.2 on an input channel that is
// ~0. Unclipped, the 0.2 stretches the grid to a step of ~0.017; clipping it to c costs
// almost nothing (its input is ~0) and shrinks the step, and with it the rounding error of
// the other 63 weights, about in proportion to c (to ~0.4 of it at c = 0.55·0.2). So the
// threshold must come out well below the maximum and the error well below the unclipped.
TEST(AwqClipSearch, ClipsAnOutlierWeightOnAQuietInput) {
  torch::manual_seed(12);
  torch::Tensor x = torch::randn({256, 128});
  x.select(1, 3).mul_(1e-3);
  torch::Tensor w = torch::randn({8, 128}) * 0.02;
  w[0][3] = 0.2;
  const ClipSearchResult got = search_clip(w, x, options(), "blk.0.mlp.up_proj");
  EXPECT_LE(got.max_val[0][0].item<float>(), 0.75f * 0.2f);
  EXPECT_LT(group_error(x, w, 0, 0, got.max_val[0][0].item<double>()),
            0.7 * group_error(x, w, 0, 0, 0.2));
}

TEST(AwqClipSearch, SkipLeavesTheWeight) {
  EXPECT_TRUE(avoids_clipping("model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(avoids_clipping("model.layers.0.self_attn.k_proj"));
  EXPECT_TRUE(avoids_clipping("transformer.h.0.attn.Wqkv"));
  EXPECT_FALSE(avoids_clipping("model.layers.0.self_attn.v_proj"));
  EXPECT_FALSE(avoids_clipping("model.layers.0.mlp.down_proj"));
  torch::manual_seed(13);
  const torch::Tensor x = torch::randn({64, 128}), w = torch::randn({8, 128});
  const ClipSearchResult got = search_clip(w, x, options(), "q_proj", /*skip=*/true);
  EXPECT_FALSE(got.searched);
  EXPECT_TRUE(torch::equal(got.weight, w));
  EXPECT_TRUE(torch::equal(got.max_val, w.reshape({8, 2, kGroup}).abs().amax(2)));
}

// 1024 tokens and clip_tokens 512: every 2nd token (0, 2, 4, …) is used, so the odd rows
// may hold anything; searching on the even rows alone must give the same thresholds.
TEST(AwqClipSearch, UsesEveryKthTokenOnly) {
  torch::manual_seed(14);
  const torch::Tensor even = torch::randn({512, 128});
  const torch::Tensor odd = torch::randn({512, 128}) * torch::exp(torch::randn({128}) * 2);
  const torch::Tensor x = torch::stack({even, odd}, 1).reshape({1024, 128});
  EXPECT_EQ(clip_token_sample(x, 512).size(0), 512);
  EXPECT_TRUE(torch::equal(clip_token_sample(x, 512), even));
  EXPECT_EQ(clip_token_sample(x.slice(0, 0, 1000), 512).size(0), 1000);  // ⌊1000/512⌋ = 1
  const torch::Tensor w = torch::randn({16, 128}) * 0.02 / torch::rand({16, 128}).add(0.05).sqrt();
  const torch::Tensor got = search_clip(w, x, options(), "l").max_val;
  EXPECT_TRUE(torch::equal(got, search_clip(w, even, options(), "l").max_val));
  EXPECT_FALSE(torch::equal(got, search_clip(w, odd, options(), "l").max_val))
      << "the odd rows would change the thresholds, so using them would show";
}

TEST(AwqClipSearch, RefusalsNameLayerAndField) {
  const torch::Tensor x = torch::randn({64, 128}), w = torch::randn({8, 128});
  expect_error([&] { search_clip(w, x.slice(0, 0, 10), options(), "blk.5.o_proj"); },
               {"blk.5.o_proj", "10 tokens", "min_tokens 32"});
  expect_error([&] { search_clip(w, x.slice(1, 0, 64), options(), "blk.5.o_proj"); },
               {"blk.5.o_proj", "64 columns", "in_features is 128"});
  torch::Tensor bad = w.clone();
  bad[6][100] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { search_clip(bad, x, options(), "blk.5.o_proj"); },
               {"blk.5.o_proj", "weight holds NaN at [6, 100]"});
  AwqOptions ninety = options();
  ninety.group_size = 90;
  expect_error([&] { search_clip(w, x, ninety, "blk.5.o_proj"); },
               {"blk.5.o_proj", "group_size 90 does not divide in_features 128"});
}

}  // namespace
