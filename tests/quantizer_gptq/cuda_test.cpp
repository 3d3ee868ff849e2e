// The solver on a CUDA device (the GPU machine; skipped without one): the same algorithm
// as on the CPU, so the same layer up to float rounding.
#include "gptq_solver.h"
#include "hessian_accumulator.h"
#include "tests/quantizer_gptq/gptq_test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace {

using namespace lmf::quant::gptq;
using namespace lmf::quant::gptq::testing;

TEST(GptqCuda, QuantizesOnTheGpuAsOnTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Tensor x = correlated_inputs(1024, 256, 8), w = gaussian_weight(64, 256, 8);
  HessianAccumulator on_cpu("cpu"), on_gpu("gpu");
  on_cpu.add(x);
  on_gpu.add(x.to(torch::kCUDA));
  ASSERT_TRUE(on_gpu.hessian().is_cuda());
  EXPECT_TRUE(torch::allclose(on_gpu.hessian().cpu(), on_cpu.hessian(), 1e-4, 1e-5));

  GptqOptions o;
  o.group_size = 64, o.desc_act = true;
  const GptqResult cpu = gptq_quantize(w, on_cpu.hessian(), o, "cpu");
  const GptqResult gpu = gptq_quantize(w, on_gpu.hessian(), o, "gpu");
  EXPECT_EQ(gpu.codes.g_idx, cpu.codes.g_idx);
  int64_t differ = 0;
  for (size_t i = 0; i < cpu.codes.codes.size(); ++i)
    differ += gpu.codes.codes[i] != cpu.codes.codes[i];
  EXPECT_LE(differ, static_cast<int64_t>(cpu.codes.codes.size() / 200))
      << differ << " codes differ";
  EXPECT_NEAR(gpu.loss, cpu.loss, 1e-3 * cpu.loss);
  EXPECT_LT(output_error(x, w, dequantize(gpu.codes)),
            output_error(x, w, dequantize(round_to_nearest(w, 4, 64, true))));
}

}  // namespace
