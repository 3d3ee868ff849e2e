// The searches on CUDA give what they give on the CPU (up to float32 summation order).
// Skipped without a GPU.
#include "awq_clip_search.h"
#include "awq_scale_search.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace {

using namespace lmf::quant::awq;

TEST(AwqCuda, SearchesAgreeWithTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(31);
  torch::Tensor x = torch::randn({600, 256}) * torch::exp(torch::rand({256}) * 2 - 1);
  x.select(1, 9).mul_(40.0);
  const std::vector<torch::Tensor> weights{torch::randn({64, 256}) * 0.02,
                                           torch::randn({32, 256}) * 0.02};
  const AwqOptions options;
  const ScaleSearchResult cpu = search_scales(x, weights, options, "cpu");
  const ScaleSearchResult gpu =
      search_scales(x.cuda(), {weights[0].cuda(), weights[1]}, options, "gpu");
  EXPECT_EQ(gpu.best_index, cpu.best_index);
  EXPECT_TRUE(torch::allclose(gpu.scales.cpu(), cpu.scales, 1e-4, 0));
  for (size_t k = 0; k < cpu.losses.size(); ++k)
    EXPECT_NEAR(gpu.losses[k], cpu.losses[k], 1e-3 * cpu.losses[k]) << k;

  const torch::Tensor w = scale_weight(weights[0], cpu.scales), xs = scale_inputs(x, cpu.scales);
  const ClipSearchResult clip_cpu = search_clip(w, xs, options, "cpu");
  const ClipSearchResult clip_gpu = search_clip(w.cuda(), xs.cuda(), options, "gpu");
  EXPECT_TRUE(clip_gpu.max_val.is_cuda());
  EXPECT_LE(clip_gpu.max_val.cpu().ne(clip_cpu.max_val).sum().item<int64_t>(),
            clip_cpu.max_val.numel() / 50);
}

}  // namespace
