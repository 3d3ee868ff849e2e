// The CUDA kernels of the GPTQ layout (gptq_kernels_cuda.h, Note [GPTQ CUDA kernels])
// against the CPU kernels of lmf_quant_common on random packed layers: dequantize bit for bit,
// matvec within the bound of fp32 summation order, through both kernels (tensor cores and
// CUDA cores), split and unsplit. On a CUDA device with the kernels built (the GPU machine);
// skipped elsewhere.
#include "plugins/quantizer/common/fp16.h"
#include "plugins/quantizer/common/gptq_kernels.h"
#include "plugins/quantizer/common/gptq_kernels_cuda.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "plugins/quantizer/common/quantized_codes.h"
#include "tests/quantizer_gptq/random_codes.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using lmf::quant::DeviceDtype;
using lmf::quant::GptqMatvecArgs;
using lmf::quant::GptqMatvecPlan;
using lmf::quant::GptqTensors;
using lmf::quant::GptqView;
using lmf::quant::MatvecKernel;
using lmf::quant::QuantizedCodes;
using lmf::quant::gptq::testing::random_codes;

torch::ScalarType scalar_type(DeviceDtype dtype) {
  return dtype == DeviceDtype::f32   ? torch::kFloat32
         : dtype == DeviceDtype::f16 ? torch::kFloat16
                                     : torch::kBFloat16;
}

// A packed layer on the host (for the CPU kernels) and a copy of its tensors on the device.
struct Layer {
  GptqTensors packed;
  GptqView host;
  GptqView device;
  torch::Tensor qweight, qzeros, scales, g_idx;  // on the device

  explicit Layer(const QuantizedCodes& codes) : packed(lmf::quant::pack_gptq(codes)) {
    host = lmf::quant::gptq_view(packed);
    auto to_device = [](auto& values, std::vector<int64_t> shape, torch::ScalarType type) {
      return torch::from_blob(values.data(), shape, type).to(torch::kCUDA);
    };
    const int64_t in = packed.in_features, out = packed.out_features, groups = packed.groups;
    qweight = to_device(packed.qweight, {in * packed.bits / 32, out}, torch::kInt32);
    qzeros = to_device(packed.qzeros, {groups, out * packed.bits / 32}, torch::kInt32);
    scales = to_device(packed.scales, {groups, out}, torch::kInt16);  // fp16 bit patterns
    g_idx = to_device(packed.g_idx, {in}, torch::kInt32);
    device = host;
    device.qweight = qweight.data_ptr<int32_t>();
    device.qzeros = qzeros.data_ptr<int32_t>();
    device.scales = reinterpret_cast<const uint16_t*>(scales.data_ptr<int16_t>());
    device.g_idx = g_idx.data_ptr<int32_t>();
  }

  // gptq_dequantize's weight [out, in], float32.
  torch::Tensor cpu_weight() const {
    torch::Tensor w = torch::empty({packed.out_features, packed.in_features}, torch::kFloat32);
    lmf::quant::gptq_dequantize(host, w.data_ptr<float>());
    return w;
  }
};

bool skip_reason(std::string& reason) {
  if (!lmf::quant::gptq_cuda_kernels_compiled()) {
    reason = "built without the GPTQ CUDA kernels";
    return true;
  }
  if (!torch::cuda::is_available()) {
    reason = "no CUDA device";
    return true;
  }
  return false;
}

#define SKIP_WITHOUT_CUDA_KERNELS()                  \
  do {                                               \
    std::string reason;                              \
    if (skip_reason(reason)) GTEST_SKIP() << reason; \
  } while (false)

// ---- dequantize -----------------------------------------------------------------------

struct DequantizeCase {
  int bits;
  int64_t out, in, group_size;
  bool act_order;
  DeviceDtype dtype;
  bool aligned = true;  // false: the output starts 2 bytes past a 16-byte boundary
};

std::string dtype_name(DeviceDtype dtype) {
  return dtype == DeviceDtype::f32 ? "f32" : dtype == DeviceDtype::f16 ? "f16" : "bf16";
}

std::string layer_name(int bits, int64_t out, int64_t in, int64_t group_size, bool act_order) {
  return std::to_string(bits) + "bit_" + std::to_string(out) + "x" + std::to_string(in) + "_g" +
         (group_size < 0 ? "all" : std::to_string(group_size)) + (act_order ? "_act_order" : "");
}

void PrintTo(const DequantizeCase& c, std::ostream* os) {
  *os << layer_name(c.bits, c.out, c.in, c.group_size, c.act_order) << " " << dtype_name(c.dtype);
}

class GptqCudaDequantize : public ::testing::TestWithParam<DequantizeCase> {};

// (code − zero) is exact and the product with the fp32 scale is rounded once, on both sides:
// equal in fp32, and in fp16/bf16 equal to the CPU value rounded to nearest.
TEST_P(GptqCudaDequantize, MatchesTheCpuKernelBitForBit) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const DequantizeCase c = GetParam();
  const Layer layer(random_codes(c.bits, c.out, c.in, c.group_size, c.act_order, 11));
  const torch::Tensor expected = layer.cpu_weight().to(scalar_type(c.dtype));
  const int64_t offset = c.aligned ? 0 : 1;
  torch::Tensor buffer =
      torch::full({c.out * c.in + offset}, std::numeric_limits<float>::quiet_NaN(),
                  torch::dtype(scalar_type(c.dtype)).device(torch::kCUDA));
  torch::Tensor weight = buffer.narrow(0, offset, c.out * c.in).view({c.out, c.in});
  lmf::quant::gptq_dequantize_cuda(layer.device, c.dtype, weight.data_ptr(), nullptr);
  const torch::Tensor got = weight.cpu();
  ASSERT_TRUE(torch::isfinite(got).all().item<bool>()) << "an output was not written";
  EXPECT_TRUE(torch::equal(got, expected))
      << "largest difference "
      << (got.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs().max().item<double>();
}

std::vector<DequantizeCase> dequantize_cases() {
  // Outputs not a multiple of the 32-column tile, inputs that leave a partial tile of 32
  // bundles, groups smaller than a bundle, one group, act-order; every width and dtype.
  const DequantizeCase layers[] = {
      {4, 72, 264, 8, false, {}},  {4, 136, 512, 128, false, {}}, {4, 40, 256, -1, false, {}},
      {4, 56, 256, 32, true, {}},  {3, 96, 288, 32, false, {}},   {3, 64, 256, 64, true, {}},
      {2, 48, 272, 16, false, {}}, {2, 16, 256, -1, true, {}},    {8, 20, 264, 8, false, {}},
      {8, 36, 40, 8, true, {}},
  };
  std::vector<DequantizeCase> cases;
  for (DeviceDtype dtype : {DeviceDtype::f32, DeviceDtype::f16, DeviceDtype::bf16})
    for (DequantizeCase c : layers) {
      c.dtype = dtype;
      cases.push_back(c);
    }
  DequantizeCase unaligned{4, 72, 256, 32, false, DeviceDtype::f16, false};
  cases.push_back(unaligned);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Layers, GptqCudaDequantize, ::testing::ValuesIn(dequantize_cases()),
                         [](const ::testing::TestParamInfo<DequantizeCase>& param) {
                           const DequantizeCase& c = param.param;
                           return layer_name(c.bits, c.out, c.in, c.group_size, c.act_order) + "_" +
                                  dtype_name(c.dtype) + (c.aligned ? "" : "_unaligned");
                         });

// ---- matvec -------------------------------------------------------------------------

struct MatvecCase {
  int bits;
  int64_t out, in, group_size;
  bool act_order;
  int64_t tokens;
  DeviceDtype x_dtype, y_dtype;
  bool tensor_cores;  // the kernel the plan must pick
  MatvecKernel kernel = MatvecKernel::kAuto;
  int splits = 0;  // 0: the plan's choice
};

class GptqCudaMatvec : public ::testing::TestWithParam<MatvecCase> {};

// Against gptq_matmul on the same x (16-bit values are exact in fp32). Both sides compute
// products that are exact or rounded once and sum them in fp32, in different orders: each
// side is within (in + groups) roundings of 2^-23 (tensor cores may truncate rather than
// round) of Σ|x·ŵ| from the exact sum, so they differ by at most twice that; a 16-bit y adds
// one rounding of y. A wrong code, zero, scale or input would move a sum by about
// Σ|x·ŵ| / in, well above that bound at these sizes.
TEST_P(GptqCudaMatvec, MatchesTheCpuKernel) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const MatvecCase c = GetParam();
  const Layer layer(random_codes(c.bits, c.out, c.in, c.group_size, c.act_order, 23));
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({c.tokens, c.in}).to(scalar_type(c.x_dtype));
  const torch::Tensor x32 = x.to(torch::kFloat32).contiguous();
  torch::Tensor expected = torch::empty({c.tokens, c.out}, torch::kFloat32);
  lmf::quant::gptq_matmul(layer.host, x32.data_ptr<float>(), c.tokens, expected.data_ptr<float>());

  const GptqMatvecPlan plan =
      lmf::quant::gptq_matvec_plan(layer.device, c.x_dtype, c.tokens, c.kernel, c.splits);
  ASSERT_EQ(plan.tensor_cores, c.tensor_cores);
  if (c.splits > 0) {
    ASSERT_EQ(plan.splits, c.splits);
  }
  const auto on_device = torch::TensorOptions().device(torch::kCUDA);
  const torch::Tensor x_device = x.to(torch::kCUDA);
  torch::Tensor workspace =
      torch::empty({std::max<int64_t>(1, plan.workspace_floats)}, on_device.dtype(torch::kFloat32));
  torch::Tensor counters =
      torch::zeros({std::max<int64_t>(1, plan.counters)}, on_device.dtype(torch::kInt32));
  auto run = [&] {
    torch::Tensor y = torch::full({c.tokens, c.out}, std::numeric_limits<float>::quiet_NaN(),
                                  on_device.dtype(scalar_type(c.y_dtype)));
    GptqMatvecArgs args;
    args.x = x_device.data_ptr();
    args.y = y.data_ptr();
    args.y_dtype = c.y_dtype;
    args.workspace = workspace.data_ptr<float>();
    args.counters = counters.data_ptr<int32_t>();
    lmf::quant::gptq_matvec_cuda(layer.device, plan, args, nullptr);
    return y.cpu();
  };
  const torch::Tensor y = run();
  ASSERT_TRUE(torch::isfinite(y).all().item<bool>()) << "an output was not written";

  const torch::Tensor weight = layer.cpu_weight().to(torch::kFloat64);
  const torch::Tensor magnitude = x32.to(torch::kFloat64).abs().matmul(weight.abs().t());
  const double unit = std::ldexp(1.0, -23);
  const double y_unit = c.y_dtype == DeviceDtype::f32   ? 0.0
                        : c.y_dtype == DeviceDtype::f16 ? std::ldexp(1.0, -11)
                                                        : std::ldexp(1.0, -8);
  const torch::Tensor sum_bound =
      2.0 * static_cast<double>(c.in + layer.packed.groups) * unit * magnitude;
  const torch::Tensor bound = sum_bound + y_unit * (expected.to(torch::kFloat64).abs() + sum_bound);
  const torch::Tensor error = (y.to(torch::kFloat64) - expected.to(torch::kFloat64)).abs();
  const torch::Tensor over = error > bound;
  EXPECT_EQ(over.sum().item<int64_t>(), 0)
      << "largest error " << error.max().item<double>() << " against a bound of "
      << bound.flatten().index({error.flatten().argmax()}).item<double>() << " (splits "
      << plan.splits << ")";
  // The per-tile counters are back at zero and the sum order is fixed: the same again.
  EXPECT_TRUE(torch::equal(run(), y)) << "a second call differs";
  EXPECT_EQ(counters.cpu().abs().sum().item<int64_t>(), 0);
}

std::string matvec_name(const MatvecCase& c) {
  return layer_name(c.bits, c.out, c.in, c.group_size, c.act_order) + "_t" +
         std::to_string(c.tokens) + "_x" + dtype_name(c.x_dtype) + "_y" + dtype_name(c.y_dtype) +
         (c.kernel == MatvecKernel::kGeneric ? "_generic" : "") +
         (c.splits > 0 ? "_splits" + std::to_string(c.splits) : "");
}

void PrintTo(const MatvecCase& c, std::ostream* os) {
  *os << matvec_name(c);
}

std::vector<MatvecCase> matvec_cases() {
  using D = DeviceDtype;
  const MatvecCase base[] = {
      // The tensor-core kernel: outputs that leave a partial warp (72) and a partial block
      // (136, 200); groups of 32, 128 and one; 1024-input chunks (2048 inputs); tokens 1..8.
      {4, 72, 256, 32, false, 1, D::bf16, D::f32, true},
      {4, 72, 256, 32, false, 3, D::bf16, D::f32, true},
      {4, 136, 512, 128, false, 1, D::f16, D::f32, true},
      {4, 136, 512, 128, false, 3, D::f16, D::f16, true},
      {4, 256, 384, -1, false, 1, D::bf16, D::bf16, true},
      {4, 256, 384, -1, false, 8, D::f16, D::f32, true},
      {4, 64, 2048, 32, false, 5, D::bf16, D::f32, true, MatvecKernel::kAuto, 1},
      {4, 200, 1024, 128, false, 3, D::bf16, D::f32, true, MatvecKernel::kAuto, 1},
      {4, 200, 1024, 128, false, 3, D::bf16, D::f32, true, MatvecKernel::kAuto, 3},
      {4, 200, 1024, 128, false, 1, D::f16, D::f32, true, MatvecKernel::kAuto, 7},
      // The CUDA-core kernel: act-order, fp32 x, groups under 32 inputs, other widths, the
      // same layers as above when asked for, split and unsplit.
      {4, 72, 256, 32, true, 1, D::bf16, D::f32, false},
      {4, 136, 512, 128, true, 3, D::f16, D::f32, false},
      {4, 136, 512, 128, false, 1, D::f32, D::f32, false},
      {4, 136, 512, 128, false, 3, D::f32, D::f32, false},
      {4, 40, 256, 16, false, 2, D::bf16, D::f32, false},
      {4, 72, 256, 32, false, 3, D::bf16, D::f32, false, MatvecKernel::kGeneric},
      {4, 200, 1024, 128, false, 3, D::f16, D::f16, false, MatvecKernel::kGeneric, 5},
      {4, 264, 2048, 128, false, 1, D::bf16, D::f32, false, MatvecKernel::kGeneric, 1},
      {2, 48, 256, 32, false, 1, D::f32, D::f32, false},
      {2, 32, 256, 64, true, 3, D::bf16, D::f32, false},
      {3, 96, 288, 32, false, 1, D::f16, D::f32, false},
      {3, 64, 256, 64, true, 3, D::f32, D::f32, false},
      {8, 20, 264, 8, false, 1, D::f32, D::f32, false},
      {8, 36, 40, 8, true, 3, D::bf16, D::f32, false},
  };
  return {std::begin(base), std::end(base)};
}

INSTANTIATE_TEST_SUITE_P(Layers, GptqCudaMatvec, ::testing::ValuesIn(matvec_cases()),
                         [](const ::testing::TestParamInfo<MatvecCase>& param) {
                           return matvec_name(param.param);
                         });

// ---- refusals -------------------------------------------------------------------------

TEST(GptqCudaKernels, RefuseWhatTheyCannotRunNamingIt) {
  SKIP_WITHOUT_CUDA_KERNELS();
  const Layer layer(random_codes(4, 64, 256, 32, false, 3));
  auto message = [](auto&& call) {
    try {
      call();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(message([&] {
              lmf::quant::gptq_matvec_plan(layer.device, DeviceDtype::bf16, 9);
            }).find("9 tokens"),
            std::string::npos);
  GptqView five_bits = layer.device;
  five_bits.bits = 5;
  EXPECT_NE(message([&] {
              lmf::quant::gptq_matvec_plan(five_bits, DeviceDtype::bf16, 1);
            }).find("bits is 5"),
            std::string::npos);
  const GptqMatvecPlan plan =
      lmf::quant::gptq_matvec_plan(layer.device, DeviceDtype::bf16, 1, MatvecKernel::kAuto, 2);
  ASSERT_EQ(plan.splits, 2);
  torch::Tensor x = torch::zeros({1, 256}, torch::dtype(torch::kBFloat16).device(torch::kCUDA));
  torch::Tensor y = torch::zeros({1, 64}, torch::dtype(torch::kBFloat16).device(torch::kCUDA));
  GptqMatvecArgs args;
  args.x = x.data_ptr();
  args.y = y.data_ptr();
  EXPECT_NE(message([&] {
              lmf::quant::gptq_matvec_cuda(layer.device, plan, args, nullptr);
            }).find("workspace"),
            std::string::npos);
  GptqView other = layer.device;
  other.out_features = 128;
  EXPECT_NE(message([&] {
              lmf::quant::gptq_matvec_cuda(other, plan, args, nullptr);
            }).find("another layer"),
            std::string::npos);
}

}  // namespace
