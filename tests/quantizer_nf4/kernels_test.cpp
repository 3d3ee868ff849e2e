// The NF4 CPU kernels, portable and AVX2, against a reference dequantization written in the
// test: random packed codes and absmax, rows that start mid-block and mid-byte, odd token
// counts and one token (the packed matrix-vector path).
#include "plugins/quantizer/nf4/nf4_kernels.h"
#include "tests/quantizer_nf4/nf4_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace lmf::quant::nf4 {
namespace {

struct Shape {
  int64_t out, in, block;
};

// [8, 64]: a block per row; [64, 33]: odd rows start in a byte's low nibble; [2, 96]:
// blocks of 64 span rows; [5, 4096]: a row is one block of the largest size.
const Shape kShapes[] = {{8, 64, 64}, {64, 33, 64}, {2, 96, 64}, {5, 4096, 4096}, {40, 40, 32}};

struct RandomLayer {
  Shape shape;
  std::vector<uint8_t> packed;
  std::vector<float> absmax;

  explicit RandomLayer(Shape s, uint32_t seed) : shape(s) {
    std::mt19937 random(seed);
    const int64_t n = s.out * s.in;
    packed.resize(static_cast<size_t>(n / 2));
    for (uint8_t& byte : packed) byte = static_cast<uint8_t>(random() & 0xff);
    absmax.resize(static_cast<size_t>(n / s.block));
    std::uniform_real_distribution<float> scale(0.001f, 0.2f);
    for (float& a : absmax) a = scale(random);
  }
  Nf4View view() const {
    return Nf4View{shape.out, shape.in, shape.block, packed.data(), absmax.data()};
  }
};

std::vector<CpuKernel> kernels_here() {
  std::vector<CpuKernel> kernels = {CpuKernel::kPortable};
  if (cpu_has_avx2_kernels()) kernels.push_back(CpuKernel::kAvx2);
  return kernels;
}

std::string kernel_name(CpuKernel kernel) {
  return kernel == CpuKernel::kAvx2 ? "avx2" : "portable";
}

std::string shape_name(const Shape& s) {
  return "[" + std::to_string(s.out) + ", " + std::to_string(s.in) + "] blocks of " +
         std::to_string(s.block);
}

TEST(Nf4Kernels, DequantizeIsLevelTimesAbsmaxBitForBit) {
  uint32_t seed = 1;
  for (const Shape& shape : kShapes) {
    const RandomLayer layer(shape, seed++);
    const std::vector<float> expected =
        testing::reference_dequantize(layer.packed, layer.absmax, shape.block);
    for (CpuKernel kernel : kernels_here()) {
      std::vector<float> got(expected.size(), std::nanf(""));
      nf4_dequantize(layer.view(), got.data(), kernel);
      EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)), 0)
          << kernel_name(kernel) << " " << shape_name(shape);
    }
  }
}

TEST(Nf4Kernels, MatmulMatchesTheReferenceProduct) {
  uint32_t seed = 100;
  for (const Shape& shape : kShapes) {
    const RandomLayer layer(shape, seed++);
    const std::vector<float> w =
        testing::reference_dequantize(layer.packed, layer.absmax, shape.block);
    for (int64_t tokens : {1, 2, 5, 7}) {
      const std::vector<float> x = testing::gaussian(static_cast<size_t>(tokens * shape.in), 1.0f,
                                                     seed + static_cast<uint32_t>(tokens));
      for (CpuKernel kernel : kernels_here()) {
        std::vector<float> y(static_cast<size_t>(tokens * shape.out), std::nanf(""));
        nf4_matmul(layer.view(), x.data(), tokens, y.data(), kernel);
        for (int64_t t = 0; t < tokens; ++t)
          for (int64_t o = 0; o < shape.out; ++o) {
            double exact = 0.0, magnitude = 0.0;
            for (int64_t i = 0; i < shape.in; ++i) {
              const double term = static_cast<double>(x[static_cast<size_t>(t * shape.in + i)]) *
                                  w[static_cast<size_t>(o * shape.in + i)];
              exact += term;
              magnitude += std::fabs(term);
            }
            // Float sums of `in` terms, reordered by blocks and lanes.
            const double allowed =
                magnitude * 4e-7 * std::sqrt(static_cast<double>(shape.in)) + 1e-30;
            EXPECT_NEAR(y[static_cast<size_t>(t * shape.out + o)], exact, allowed)
                << kernel_name(kernel) << " " << shape_name(shape) << " tokens " << tokens << " y["
                << t << ", " << o << "]";
          }
      }
    }
  }
}

TEST(Nf4Kernels, Avx2AndPortableAgree) {
  if (!cpu_has_avx2_kernels()) GTEST_SKIP() << "this CPU has no AVX2/FMA";
  const RandomLayer layer({48, 200, 64}, 9);
  const std::vector<float> x = testing::gaussian(200 * 3, 1.0f, 10);
  std::vector<float> portable(48 * 3), avx2(48 * 3);
  for (int64_t tokens : {1, 3}) {
    nf4_matmul(layer.view(), x.data(), tokens, portable.data(), CpuKernel::kPortable);
    nf4_matmul(layer.view(), x.data(), tokens, avx2.data(), CpuKernel::kAvx2);
    for (size_t i = 0; i < static_cast<size_t>(48 * tokens); ++i)
      EXPECT_NEAR(avx2[i], portable[i], 1e-5 * (1 + std::fabs(portable[i]))) << "tokens " << tokens;
  }
}

}  // namespace
}  // namespace lmf::quant::nf4
