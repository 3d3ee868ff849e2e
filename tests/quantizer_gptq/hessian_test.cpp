// HessianAccumulator: H = 2/n · Σ x xᵀ as a running average over observe calls.
#include "hessian_accumulator.h"

#include <lmf/sdk/error.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>
#include <string>

namespace {

using lmf::quant::gptq::HessianAccumulator;

std::string error_of(HessianAccumulator& h, const torch::Tensor& inputs) {
  try {
    h.add(inputs);
  } catch (const lmf::sdk::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HessianAccumulator, IsTwoOverNTimesTheSumOfOuterProductsOverAllCalls) {
  torch::manual_seed(3);
  const torch::Tensor first = torch::randn({7, 16}), second = torch::randn({13, 16});
  HessianAccumulator h("blk.0.q_proj");
  h.add(first);
  h.add(second.to(torch::kFloat64));  // any floating dtype
  const torch::Tensor x = torch::cat({first, second}).to(torch::kFloat64);
  const torch::Tensor expected = 2.0 / 20.0 * x.t().matmul(x);
  EXPECT_EQ(h.rows(), 20);
  EXPECT_EQ(h.in_features(), 16);
  EXPECT_EQ(h.hessian().scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(h.hessian().to(torch::kFloat64), expected, 1e-5, 1e-6))
      << (h.hessian().to(torch::kFloat64) - expected).abs().max().item<double>();
}

TEST(HessianAccumulator, EmptyCallsChangeNothing) {
  HessianAccumulator h("layer");
  h.add(torch::zeros({0, 8}));
  EXPECT_TRUE(h.empty());
}

TEST(HessianAccumulator, NaNAndInfAreNamedWithLayerRowAndColumn) {
  torch::Tensor x = torch::randn({6, 10});
  x[3][5] = std::numeric_limits<float>::quiet_NaN();
  HessianAccumulator h("blk.2.mlp.down_proj");
  const std::string message = error_of(h, x);
  EXPECT_NE(message.find("layer \"blk.2.mlp.down_proj\""), std::string::npos) << message;
  EXPECT_NE(message.find("NaN at [3, 5]"), std::string::npos) << message;
  EXPECT_TRUE(h.empty()) << "a refused call must not change H";

  x[3][5] = 1.0f;
  x[0][9] = -std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of(h, x).find("Inf at [0, 9]"), std::string::npos) << error_of(h, x);
}

TEST(HessianAccumulator, RefusesOtherShapesNamingTheLayer) {
  HessianAccumulator h("blk.1.o_proj");
  h.add(torch::randn({4, 16}));
  std::string message = error_of(h, torch::randn({4, 8}));
  EXPECT_NE(message.find("in_features changed from 16 to 8"), std::string::npos) << message;
  EXPECT_NE(message.find("blk.1.o_proj"), std::string::npos) << message;
  message = error_of(h, torch::randn({2, 4, 16}));
  EXPECT_NE(message.find("expected [tokens, in_features]"), std::string::npos) << message;
  message = error_of(h, torch::ones({4, 16}, torch::kInt32));
  EXPECT_NE(message.find("floating-point"), std::string::npos) << message;
  EXPECT_EQ(h.rows(), 4);
}

}  // namespace
