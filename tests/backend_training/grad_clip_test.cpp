// Gradient clipping (training/grad_clip.h) against torch.nn.utils.clip_grad_norm_, norms
// worked out by hand, and the detection of non-finite grads.
#include "training/grad_clip.h"
#include "optimizer_fixtures.h"

#include <cmath>
#include <limits>

namespace lmf::torch_backend::testing {
namespace {

torch::Tensor with_grad(torch::Tensor grad) {
  torch::Tensor p = torch::zeros_like(grad).requires_grad_();
  p.mutable_grad() = grad;
  return p;
}

// The CPU takes one reduction per grad, CUDA the multi-tensor (foreach) kernels.
void expect_torch_clip_results(const torch::Device& device) {
  const FixtureTensors tensors("clip.safetensors");
  for (const nlohmann::json& c : fixture_json("clip.json")["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    std::vector<torch::Tensor> parameters;
    for (int i = 0; i < c["count"].get<int>(); ++i)
      parameters.push_back(with_grad(tensors[name + "/grad" + std::to_string(i)].to(device)));
    const torch::Tensor norm = clip_grad_norm(parameters, c["max_norm"].get<double>());
    EXPECT_NEAR(norm.item<double>(), c["norm"].get<double>(), 1e-6 * c["norm"].get<double>());
    for (int i = 0; i < c["count"].get<int>(); ++i)
      EXPECT_TRUE(all_close(parameters[i].grad().cpu(),
                            tensors[name + "/clipped" + std::to_string(i)], 1e-6, 1e-8))
          << i;
  }
}

TEST(GradClipReference, MatchesTorchClipGradNormAboveAndBelowTheLimit) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("clip.json");
  expect_torch_clip_results(torch::kCPU);
}

TEST(GradClipReference, TheCudaForeachKernelsMatchTorchToo) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("clip.json");
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_torch_clip_results(torch::Device(torch::kCUDA, 0));
}

TEST(GradClip, TotalNormIsTheNormOfAllGradsTogether) {
  // 3-4-12-… : sqrt(3² + 4² + 12²) = 13.
  std::vector<torch::Tensor> parameters = {
      with_grad(torch::tensor({3.0f, 4.0f})), with_grad(torch::tensor({12.0f})),
      torch::zeros({5}).requires_grad_()};  // no grad: counts nothing
  EXPECT_FLOAT_EQ(grad_total_norm(parameters).item<float>(), 13.0f);
  const torch::Tensor norm = clip_grad_norm(parameters, 1.0);
  EXPECT_FLOAT_EQ(norm.item<float>(), 13.0f);  // the norm before clipping
  const float scale = 1.0f / (13.0f + 1e-6f);
  EXPECT_TRUE(
      all_close(parameters[0].grad(), torch::tensor({3.0f * scale, 4.0f * scale}), 1e-6, 0));
  EXPECT_NEAR(grad_total_norm(parameters).item<double>(), 1.0, 1e-6);
  EXPECT_FALSE(parameters[2].grad().defined());
}

TEST(GradClip, GradsBelowTheLimitStayAsTheyWere) {
  std::vector<torch::Tensor> parameters = {with_grad(torch::tensor({0.3f, -0.4f}))};
  EXPECT_FLOAT_EQ(clip_grad_norm(parameters, 1.0).item<float>(), 0.5f);
  EXPECT_TRUE(torch::equal(parameters[0].grad(), torch::tensor({0.3f, -0.4f})));
}

TEST(GradClip, Bf16GradsAreNormedInFp32) {
  // sqrt(3) = 1.7320508…; rounded to bf16 (as torch returns a bf16 grad's norm) 1.734375.
  std::vector<torch::Tensor> parameters = {with_grad(torch::ones({3}, torch::kBFloat16))};
  const torch::Tensor norm = grad_total_norm(parameters);
  EXPECT_EQ(norm.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(norm.item<double>(), std::sqrt(3.0), 1e-6);
}

TEST(GradClip, FindsNonFiniteGrads) {
  EXPECT_TRUE(grads_are_finite({with_grad(torch::ones({3})), torch::zeros({2}).requires_grad_()}));
  EXPECT_TRUE(grads_are_finite({}));
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    EXPECT_FALSE(
        grads_are_finite({with_grad(torch::ones({3})), with_grad(torch::tensor({1.0f, bad}))}))
        << bad;
  }
}

}  // namespace
}  // namespace lmf::torch_backend::testing
