// The solver on a CUDA device (the GPU machine; skipped without one): the same algorithm
// as on the CPU, so the same layer up to float rounding.
#include "gptq_cuda.h"
#include "gptq_solver.h"
#include "hessian_accumulator.h"
#include "tests/quantizer_gptq/gptq_test_support.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

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

#define SKIP_WITHOUT_BLOCK_KERNEL()                                               \
  do {                                                                            \
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";            \
    if (!gptq_cuda_compiled()) GTEST_SKIP() << "built without the GPTQ CUDA code"; \
  } while (false)

struct BlockCase {
  std::string name;
  GptqOptions options;
};

// Note [GPTQ on the device]: the kernel computes each element with the loop's float32
// operations in the loop's order, so the codes and grids are the loop's exactly.
TEST(GptqCuda, BlockKernelGivesTheColumnLoopsCodes) {
  SKIP_WITHOUT_BLOCK_KERNEL();
  const torch::Tensor x = correlated_inputs(1024, 512, 11).to(torch::kCUDA);
  const torch::Tensor w = gaussian_weight(200, 512, 11).to(torch::kCUDA);  // 200: a part-filled thread block
  HessianAccumulator hessian("h");
  hessian.add(x);
  std::vector<BlockCase> cases;
  auto add = [&](std::string name, auto&& set) {
    GptqOptions o;
    set(o);
    cases.push_back({std::move(name), o});
  };
  add("g128", [](GptqOptions&) {});
  add("g32 starting mid-block", [](GptqOptions& o) { o.group_size = 32; });
  add("g256 over two blocks of 64", [](GptqOptions& o) { o.group_size = 256, o.block_size = 64; });
  add("per row, 3 bits", [](GptqOptions& o) { o.group_size = -1, o.bits = 3; });
  add("asymmetric 8 bits, block 100", [](GptqOptions& o) { o.sym = false, o.bits = 8, o.block_size = 100; });
  add("act-order", [](GptqOptions& o) { o.desc_act = true; });
  add("act-order, static groups, 2 bits", [](GptqOptions& o) { o.desc_act = o.static_groups = true, o.bits = 2; });
  add("AutoGPTQ's grid (float32 scales)", [](GptqOptions& o) { o.grid_rule = GridRule::kReference, o.sym = false; });
  for (const BlockCase& c : cases) {
    SCOPED_TRACE(c.name);
    const GptqResult kernel = gptq_quantize(w, hessian.hessian(), c.options, "k", SolverPath::kAuto);
    const GptqResult loop = gptq_quantize(w, hessian.hessian(), c.options, "l", SolverPath::kColumnByColumn);
    const int64_t blocks = (512 + c.options.block_size - 1) / c.options.block_size;
    EXPECT_EQ(kernel.device_blocks, blocks) << "the kernel solved every block";
    EXPECT_EQ(loop.device_blocks, 0);
    EXPECT_EQ(kernel.codes.codes, loop.codes.codes);
    EXPECT_EQ(kernel.codes.scales, loop.codes.scales);
    EXPECT_EQ(kernel.codes.zeros, loop.codes.zeros);
    EXPECT_EQ(kernel.codes.g_idx, loop.codes.g_idx);
    EXPECT_NEAR(kernel.loss, loop.loss, 1e-5 * loop.loss);
  }
}

// bf16 inputs (lent as float32) take the tensor cores: the same Hessian as float32's up to
// the rounding of the sums; inputs that are not bf16 values keep the float32 product.
TEST(GptqCuda, Bf16InputsGiveTheFloat32Hessian) {
  SKIP_WITHOUT_BLOCK_KERNEL();
  const torch::Tensor x = correlated_inputs(1536, 256, 5).to(torch::kBFloat16).to(torch::kFloat32);
  HessianAccumulator on_cpu("cpu"), on_gpu("gpu");
  for (int64_t first : {0, 1000}) {  // two calls of different sizes: the running average
    const torch::Tensor part = x.slice(0, first, first == 0 ? 1000 : 1536);
    on_cpu.add(part.to(torch::kFloat64));
    on_gpu.add(part.to(torch::kCUDA));
  }
  EXPECT_EQ(on_gpu.rows(), 1536);
  EXPECT_EQ(on_gpu.tensor_core_rows(), 1536) << "bf16 values take the tensor cores";
  const torch::Tensor expected = 2.0 / 1536 * x.to(torch::kFloat64).t().mm(x.to(torch::kFloat64));
  const torch::Tensor got = on_gpu.hessian().cpu().to(torch::kFloat64);
  const double scale = expected.abs().max().item<double>();
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5 * scale);
  EXPECT_LT((on_cpu.hessian().to(torch::kFloat64) - expected).abs().max().item<double>(), 1e-5 * scale);

  HessianAccumulator float32("float32");
  float32.add(correlated_inputs(64, 256, 5).to(torch::kCUDA));
  EXPECT_EQ(float32.tensor_core_rows(), 0);
}

}  // namespace

