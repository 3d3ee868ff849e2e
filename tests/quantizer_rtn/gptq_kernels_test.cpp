// The GPTQ CPU kernels, portable and AVX2/FMA, against the naive float reference computed
// from the unpacked codes (test_layers.h), on random layers of many shapes.
#include "plugins/quantizer/common/gptq_kernels.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "tests/quantizer_rtn/test_layers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

using lmf::quant::CpuKernel;
using lmf::quant::GptqTensors;
using lmf::quant::GptqView;

GptqView view_of(const GptqTensors& packed) { return lmf::quant::gptq_view(packed); }

struct KernelCase {
  int bits;
  int64_t out, in, group_size;
  bool act_order;
  CpuKernel kernel = CpuKernel::kPortable;
  int64_t tokens = 1;  // matmul only
};

std::string shape_name(const KernelCase& c) {
  return std::string(c.kernel == CpuKernel::kAvx2 ? "avx2_" : "portable_") +
         std::to_string(c.bits) + "bit_" + std::to_string(c.out) + "x" + std::to_string(c.in) +
         "_g" + (c.group_size < 0 ? "all" : std::to_string(c.group_size)) +
         (c.act_order ? "_act_order" : "");
}

// Odd sizes: outputs that leave 8-wide and 1..7-wide tails, inputs beyond one 256-input
// tile and not a multiple of it, groups smaller than a packed bundle, one group, act-order;
// each for both kernels.
std::vector<KernelCase> shapes() {
  const KernelCase shapes[] = {
      {4, 8, 64, 32, false},   {4, 40, 96, 32, false},  {4, 72, 320, 64, false},
      {4, 24, 288, -1, false}, {4, 16, 64, 4, false},   {4, 56, 256, 32, true},
      {3, 32, 96, 32, false},  {3, 96, 288, 16, false}, {3, 64, 64, 32, true},
      {2, 48, 96, 32, false},  {2, 16, 64, -1, true},   {8, 4, 12, -1, false},
      {8, 20, 264, 8, false},  {8, 36, 40, 8, true},
  };
  std::vector<KernelCase> cases;
  for (CpuKernel kernel : {CpuKernel::kPortable, CpuKernel::kAvx2})
    for (KernelCase c : shapes) {
      c.kernel = kernel;
      cases.push_back(c);
    }
  return cases;
}

// The shapes, each with 1 token (the matrix-vector path) and several.
std::vector<KernelCase> shapes_and_tokens() {
  std::vector<KernelCase> cases;
  for (KernelCase c : shapes())
    for (int64_t tokens : {1, 2, 5, 9}) {
      c.tokens = tokens;
      cases.push_back(c);
    }
  return cases;
}

class KernelTest : public ::testing::TestWithParam<KernelCase> {
 protected:
  void SetUp() override {
    if (GetParam().kernel == CpuKernel::kAvx2 && !lmf::quant::cpu_has_avx2_kernels())
      GTEST_SKIP() << "this CPU has no AVX2/FMA, so only the portable kernels run here";
  }
};

class GptqDequantize : public KernelTest {};

TEST_P(GptqDequantize, EqualsTheReferenceExactly) {
  const KernelCase c = GetParam();
  const auto codes = lmf::quant::testing::random_codes(
      c.bits, c.out, c.in, c.group_size, c.act_order, static_cast<uint64_t>(c.in * 7 + c.out));
  const GptqTensors packed = lmf::quant::pack_gptq(codes);
  const std::vector<float> expected = lmf::quant::testing::reference_weight(codes);
  std::vector<float> got(expected.size(), std::nanf(""));
  lmf::quant::gptq_dequantize(view_of(packed), got.data(), c.kernel);
  // One product of the same two floats on both sides: no rounding may differ.
  for (size_t k = 0; k < expected.size(); ++k)
    ASSERT_EQ(got[k], expected[k]) << "element [" << k / c.in << ", " << k % c.in << "]";
}

INSTANTIATE_TEST_SUITE_P(Shapes, GptqDequantize, ::testing::ValuesIn(shapes()),
                         [](const ::testing::TestParamInfo<KernelCase>& test) {
                           return shape_name(test.param);
                         });

class GptqMatmul : public KernelTest {};

TEST_P(GptqMatmul, MatchesXTimesTheReferenceWeight) {
  const KernelCase c = GetParam();
  const auto codes = lmf::quant::testing::random_codes(
      c.bits, c.out, c.in, c.group_size, c.act_order, static_cast<uint64_t>(c.in * 3 + c.out));
  const GptqTensors packed = lmf::quant::pack_gptq(codes);
  const std::vector<float> w = lmf::quant::testing::reference_weight(codes);
  const lmf::conformance::Matrix x = lmf::conformance::activations(c.tokens, c.in, 99);
  std::vector<float> y(static_cast<size_t>(c.tokens * c.out), std::nanf(""));
  lmf::quant::gptq_matmul(view_of(packed), x.values.data(), c.tokens, y.data(), c.kernel);
  for (int64_t t = 0; t < c.tokens; ++t)
    for (int64_t o = 0; o < c.out; ++o) {
      double exact = 0.0, magnitude = 0.0;
      for (int64_t i = 0; i < c.in; ++i) {
        const double term = static_cast<double>(x.at(t, i)) * w[static_cast<size_t>(o * c.in + i)];
        exact += term;
        magnitude += std::fabs(term);
      }
      // Any order of float32 summation errs by at most about n·u·Σ|terms|.
      const double allowed = 2.0 * static_cast<double>(c.in) * 0x1.0p-24 * magnitude + 1e-30;
      ASSERT_NEAR(y[static_cast<size_t>(t * c.out + o)], exact, allowed)
          << "token " << t << ", output " << o;
    }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GptqMatmul, ::testing::ValuesIn(shapes_and_tokens()),
                         [](const ::testing::TestParamInfo<KernelCase>& test) {
                           return shape_name(test.param) + "_t" + std::to_string(test.param.tokens);
                         });

// A row whose codes all equal its zero is exactly 0 in every path, whatever x is: the
// kernels subtract the zero from each code before scaling.
TEST(GptqKernelsExact, ARowAtItsZeroGivesExactlyZero) {
  for (CpuKernel kernel : {CpuKernel::kPortable, CpuKernel::kAvx2}) {
    if (kernel == CpuKernel::kAvx2 && !lmf::quant::cpu_has_avx2_kernels()) continue;
    auto codes = lmf::quant::testing::random_codes(4, 16, 128, 32, false, 5);
    for (int64_t i = 0; i < 128; ++i) codes.codes[static_cast<size_t>(3 * 128 + i)] = 9;
    for (int64_t g = 0; g < 4; ++g) codes.zeros[static_cast<size_t>(g * 16 + 3)] = 9;
    const GptqTensors packed = lmf::quant::pack_gptq(codes);
    const lmf::conformance::Matrix x = lmf::conformance::activations(3, 128, 4);
    for (int64_t tokens : {1, 3}) {
      std::vector<float> y(static_cast<size_t>(tokens * 16), std::nanf(""));
      lmf::quant::gptq_matmul(view_of(packed), x.values.data(), tokens, y.data(), kernel);
      for (int64_t t = 0; t < tokens; ++t) EXPECT_EQ(y[static_cast<size_t>(t * 16 + 3)], 0.0f);
    }
  }
}

TEST(GptqKernelsExact, SequentialGroupSizeRecognizesOnlyTheSequentialMap) {
  const std::vector<int32_t> sequential = {0, 0, 1, 1, 2, 2};
  EXPECT_EQ(lmf::quant::sequential_group_size(sequential.data(), 6, 3), 2);
  const std::vector<int32_t> shuffled = {0, 1, 0, 1, 2, 2};
  EXPECT_EQ(lmf::quant::sequential_group_size(shuffled.data(), 6, 3), 0);
  const std::vector<int32_t> one = {0, 0, 0, 0};
  EXPECT_EQ(lmf::quant::sequential_group_size(one.data(), 4, 1), 4);
}

TEST(GptqKernelsExact, BadViewsAreRefusedBeforeAnyWrite) {
  const auto codes = lmf::quant::testing::random_codes(4, 8, 32, -1, false, 1);
  const GptqTensors packed = lmf::quant::pack_gptq(codes);
  GptqView view = view_of(packed);
  view.out_features = 12;  // not a multiple of 8 at 4 bits
  std::vector<float> y(12, 7.0f);
  try {
    lmf::quant::gptq_matmul(view, std::vector<float>(32, 1.0f).data(), 1, y.data());
    FAIL() << "a 4-bit view with 12 outputs was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[out, in] = [12, 32]"), std::string::npos) << e.what();
  }
  EXPECT_EQ(y, std::vector<float>(12, 7.0f));
}

}  // namespace
