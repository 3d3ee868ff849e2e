// AWQ's scale search (Note [AWQ scale search], Note [Local scale loss]) against scales and
// losses computed here in double from the formula, and on inputs whose answer is known.
#include "awq_scale_search.h"
#include "awq_test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace {

using namespace lmf::quant::awq;
using lmf::quant::awq::testing::expect_error;
using lmf::quant::awq::testing::mean_output_error;
using lmf::quant::awq::testing::reference_pseudo_quantize;

constexpr int64_t kIn = 256, kGroup = 128, kTokens = 512;
const std::vector<int64_t> kOutlierChannels{5, 77, 140, 200};

// Gaussian inputs with uneven column scales (e^±1) and, when `outliers`, four channels 50×
// larger: the few salient channels AWQ is about.
torch::Tensor inputs(bool outliers, uint64_t seed = 1) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({kTokens, kIn}) * torch::exp(torch::rand({kIn}) * 2 - 1);
  if (outliers)
    for (int64_t c : kOutlierChannels) x.select(1, c).mul_(50.0);
  return x;
}

// Three projections (q, k, v) of one input.
std::vector<torch::Tensor> qkv(uint64_t seed = 2) {
  torch::manual_seed(seed);
  return {torch::randn({32, kIn}) * 0.02, torch::randn({16, kIn}) * 0.03,
          torch::randn({16, kIn}) * 0.01};
}

AwqOptions options(bool duo = true) {
  AwqOptions o;
  o.group_size = kGroup;
  o.duo_scaling = duo;
  return o;
}

// Note [AWQ scale search]'s s for ratio r, in double, from the definitions.
torch::Tensor expected_scales(const torch::Tensor& x, const torch::Tensor& w, double r, bool duo) {
  const torch::Tensor xd = x.to(torch::kFloat64), wd = w.to(torch::kFloat64);
  std::vector<double> s(static_cast<size_t>(kIn));
  for (int64_t i = 0; i < kIn; ++i) {
    const double x_mean = xd.select(1, i).abs().mean().item<double>();
    double w_mean = 0;
    for (int64_t o = 0; o < wd.size(0); ++o) {
      const int64_t first = i / kGroup * kGroup;
      const double group_max = wd[o].slice(0, first, first + kGroup).abs().max().item<double>();
      w_mean += std::abs(wd[o][i].item<double>()) / (group_max + 1e-6);
    }
    w_mean /= static_cast<double>(wd.size(0));
    const double raw =
        duo ? std::pow(x_mean, r) / (std::pow(w_mean, 1 - r) + 1e-4) : std::pow(x_mean, r);
    s[static_cast<size_t>(i)] = std::max(raw, 1e-4);
  }
  const auto [low, high] = std::minmax_element(s.begin(), s.end());
  const double norm = std::sqrt(*low * *high);
  for (double& v : s) v /= norm;
  return torch::tensor(s, torch::kFloat64);
}

// Note [Local scale loss] in double: W quantized as Q(W·s)/s against W, on x.
double expected_loss(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& s) {
  const torch::Tensor sd = s.to(torch::kFloat64).reshape({1, -1});
  const torch::Tensor w_hat = reference_pseudo_quantize(w.to(torch::kFloat64) * sd, kGroup) / sd;
  return mean_output_error(x, w, w_hat);
}

TEST(AwqScaleSearch, LossesAndScalesFollowTheFormula) {
  const torch::Tensor x = inputs(true);
  const std::vector<torch::Tensor> weights = qkv();
  const torch::Tensor all = torch::cat(weights, 0);
  for (bool duo : {true, false}) {
    SCOPED_TRACE(duo ? "duo scaling" : "activation scaling only");
    const ScaleSearchResult got = search_scales(x, weights, options(duo), "blk.0.qkv");
    ASSERT_EQ(got.losses.size(), 20u);
    EXPECT_DOUBLE_EQ(got.best_ratio, got.best_index / 20.0);
    EXPECT_EQ(std::min_element(got.losses.begin(), got.losses.end()) - got.losses.begin(),
              got.best_index);
    for (int k : {0, 5, 10, 19}) {
      const torch::Tensor s = expected_scales(x, all, k / 20.0, duo);
      const torch::Tensor mine =
          ratio_scales(activation_mean(x), weight_mean(weights, options(duo)), k / 20.0, duo);
      EXPECT_TRUE(torch::allclose(mine.to(torch::kFloat64), s, 1e-5, 0)) << k;
      EXPECT_NEAR(got.losses[static_cast<size_t>(k)], expected_loss(x, all, s),
                  2e-3 * got.losses[static_cast<size_t>(k)])
          << k;
    }
    const torch::Tensor best = expected_scales(x, all, got.best_ratio, duo);
    EXPECT_TRUE(torch::allclose(got.scales.to(torch::kFloat64), best, 1e-5, 0));
  }
}

// Weights exactly on AutoAWQ's grid (every group holds codes 0 and 15, z = 8, scale 1/64)
// quantize without error at s = 1, which is ratio 0 without duo scaling; every other ratio
// moves them off the grid. So ratio 0 must win with loss 0, and its scales are exactly 1.
TEST(AwqScaleSearch, RatioZeroWinsWithScalesOfOneOnWeightsAlreadyOnTheGrid) {
  torch::manual_seed(5);
  torch::Tensor codes = torch::randint(0, 16, {24, kIn}).to(torch::kFloat);
  for (int64_t g = 0; g < kIn; g += kGroup) {
    codes.select(1, g).fill_(0);
    codes.select(1, g + 1).fill_(15);
  }
  const torch::Tensor w = (codes - 8) / 64.0;
  const ScaleSearchResult got =
      search_scales(inputs(false), {w}, options(false), "blk.1.down_proj");
  EXPECT_EQ(got.best_index, 0);
  EXPECT_EQ(got.best_ratio, 0.0);
  EXPECT_EQ(got.losses[0], 0.0);
  for (size_t k = 1; k < got.losses.size(); ++k) EXPECT_GT(got.losses[k], 0.0) << k;
  EXPECT_TRUE(torch::equal(got.scales, torch::ones({kIn})));
}

// Four input channels 50× larger dominate the output error of round-to-nearest (their
// weights' rounding errors are multiplied by 50); scaling those weights up shrinks their
// relative rounding error, so the searched scales must lose clearly less than none.
TEST(AwqScaleSearch, SearchedScalesBeatNoScalingOnOutlierChannels) {
  const torch::Tensor x = inputs(true);
  const std::vector<torch::Tensor> weights = qkv();
  const torch::Tensor all = torch::cat(weights, 0);
  const double rtn = mean_output_error(x, all, reference_pseudo_quantize(all, kGroup));
  for (bool duo : {true, false}) {
    SCOPED_TRACE(duo ? "duo scaling" : "activation scaling only");
    const ScaleSearchResult got = search_scales(x, weights, options(duo), "blk.0.qkv");
    EXPECT_GT(got.best_index, 0);
    const double searched = got.losses[static_cast<size_t>(got.best_index)];
    EXPECT_LT(searched, 0.5 * rtn) << "searched " << searched << ", round-to-nearest " << rtn;
    // And measured independently: the stored weights Q(W·s)/s on x.
    EXPECT_LT(expected_loss(x, all, got.scales), 0.5 * rtn);
    // The salient channels get the largest scales.
    torch::Tensor others = got.scales.clone();
    double least_outlier = std::numeric_limits<double>::infinity();
    for (int64_t c : kOutlierChannels) {
      least_outlier = std::min(least_outlier, got.scales[c].item<double>());
      others[c] = 0;
    }
    EXPECT_GT(least_outlier, others.max().item<double>());
  }
}

TEST(AwqScaleSearch, FoldingTheScalesKeepsTheOutputs) {
  const torch::Tensor x = inputs(true);
  const torch::Tensor w = qkv()[0];
  const torch::Tensor s = search_scales(x, {w}, options(), "o_proj").scales;
  EXPECT_TRUE(torch::allclose(scale_inputs(x, s).matmul(scale_weight(w, s).t()), x.matmul(w.t()),
                              1e-4, 1e-5));
}

// bf16 inputs and weights are searched in float32: the same as their float32 widening, also
// with one group per output row (group_size −1).
TEST(AwqScaleSearch, SearchesHalfPrecisionInputsInFloat32) {
  const torch::Tensor x = inputs(true).to(torch::kBFloat16);
  const std::vector<torch::Tensor> weights{qkv()[0].to(torch::kBFloat16)};
  for (int64_t group : {int64_t{128}, int64_t{-1}}) {
    AwqOptions o = options();
    o.group_size = group;
    const ScaleSearchResult half = search_scales(x, weights, o, "bf16");
    const ScaleSearchResult wide =
        search_scales(x.to(torch::kFloat), {weights[0].to(torch::kFloat)}, o, "f32");
    EXPECT_EQ(half.best_index, wide.best_index) << group;
    EXPECT_EQ(half.losses, wide.losses) << group;
    EXPECT_TRUE(torch::equal(half.scales, wide.scales)) << group;
    EXPECT_EQ(half.scales.scalar_type(), torch::kFloat);
  }
}

TEST(AwqScaleSearch, TakesAnyLoss) {
  // A loss that prefers ratio 7 of 20: search_ratios must return it and its scales.
  const torch::Tensor x_mean = torch::rand({kIn}) + 0.5, w_mean = torch::rand({kIn}) + 0.1;
  int calls = 0;
  const ScaleSearchResult got = search_ratios(
      x_mean, w_mean, options(), [&](const torch::Tensor&) { return std::abs(calls++ - 7) + 1.0; },
      "custom");
  EXPECT_EQ(calls, 20);
  EXPECT_EQ(got.best_index, 7);
  EXPECT_TRUE(torch::equal(got.scales, ratio_scales(x_mean, w_mean, 0.35, true)));
  expect_error(
      [&] {
        search_ratios(
            x_mean, w_mean, options(),
            [](const torch::Tensor&) { return std::numeric_limits<double>::quiet_NaN(); },
            "blk.9.mlp");
      },
      {"blk.9.mlp", "no ratio with a finite loss"});
}

TEST(AwqScaleSearch, RefusalsNameLayerAndField) {
  const torch::Tensor x = inputs(false);
  const std::vector<torch::Tensor> weights = qkv();
  AwqOptions three = options();
  three.bits = 3;
  expect_error([&] { search_scales(x, weights, three, "blk.4.qkv"); },
               {"layer \"blk.4.qkv\"", "bits must be 4", "got 3"});
  AwqOptions hundred = options();
  hundred.group_size = 100;
  expect_error([&] { search_scales(x, weights, hundred, "blk.4.qkv"); },
               {"blk.4.qkv", "group_size 100 does not divide in_features 256"});
  std::vector<torch::Tensor> bad = weights;
  bad[1] = bad[1].clone();
  bad[1][2][3] = std::numeric_limits<float>::quiet_NaN();
  expect_error([&] { search_scales(x, bad, options(), "blk.4.qkv"); },
               {"blk.4.qkv", "weights[1] holds NaN at [2, 3]"});
  torch::Tensor bad_x = x.clone();
  bad_x[4][7] = std::numeric_limits<float>::infinity();
  expect_error([&] { search_scales(bad_x, weights, options(), "blk.4.qkv"); },
               {"blk.4.qkv", "calibration inputs holds Inf at [4, 7]"});
  expect_error([&] { search_scales(x.slice(0, 0, 16), weights, options(), "blk.4.qkv"); },
               {"blk.4.qkv", "16 tokens", "min_tokens 32"});
  expect_error(
      [&] {
        search_scales(x, {weights[0], weights[1].slice(1, 0, 128)}, options(), "blk.4.qkv");
      },
      {"blk.4.qkv", "weights[1] has in_features 128"});
  expect_error([&] { search_scales(x, {}, options(), "blk.4.qkv"); }, {"blk.4.qkv", "no weights"});
}

}  // namespace
