// Blockwise NF4 quantization and double quantization of the absmax values, on values whose
// codes and bytes are worked out by hand.
#include "plugins/quantizer/nf4/nf4_blocks.h"
#include "plugins/quantizer/nf4/nf4_codebook.h"
#include "tests/quantizer_nf4/nf4_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace lmf::quant::nf4 {
namespace {

struct Quantized {
  std::vector<uint8_t> packed;
  std::vector<float> absmax;
};

Quantized quantize(const std::vector<float>& w, int64_t block_size) {
  Quantized q{std::vector<uint8_t>(w.size() / 2), std::vector<float>(w.size() / block_size)};
  quantize_blocks(w, block_size, q.packed.data(), q.absmax.data());
  return q;
}

TEST(QuantizeBlocks, HandPickedBlocksPackTheEvenElementHigh) {
  std::vector<float> w(96, 0.0f);
  // Block 0, absmax 1: codes 15 0 | 7 12 | 2 14 | 8 6, then 0 -> code 7.
  const float block0[] = {1.0f, -1.0f, 0.0f, 0.5f, -0.5f, 0.75f, 0.04f, -0.05f};
  std::copy(std::begin(block0), std::end(block0), w.begin());
  // Block 1, absmax 2 (1 / 2 is exact): -2 -> -1, 1 -> 0.5, 0.1 -> 0.05, 1.5 -> 0.75.
  const float block1[] = {-2.0f, 1.0f, 0.1f, 0.0f, 1.5f, -0.1f};
  std::copy(std::begin(block1), std::end(block1), w.begin() + 32);
  // Block 2 stays zero.

  const Quantized q = quantize(w, 32);
  std::vector<uint8_t> expected(48, 0x77);
  const uint8_t bytes0[] = {0xF0, 0x7C, 0x2E, 0x86};
  const uint8_t bytes1[] = {0x0C, 0x87, 0xE6};
  std::copy(std::begin(bytes0), std::end(bytes0), expected.begin());
  std::copy(std::begin(bytes1), std::end(bytes1), expected.begin() + 16);
  // A block of zeros: 0 * (1 / 0) is NaN and takes code 0, as in bitsandbytes.
  std::fill(expected.begin() + 32, expected.end(), 0x00);
  EXPECT_EQ(q.packed, expected);
  EXPECT_EQ(q.absmax, (std::vector<float>{1.0f, 2.0f, 0.0f}));
}

TEST(QuantizeBlocks, BlocksRunOverTheFlattenedWeight) {
  // [2, 48] with blocks of 32: block 1 is row 0's last 16 and row 1's first 16 values.
  std::vector<float> w(96, 0.25f);
  w[58] = -3.0f;  // row 1, column 10
  w[40] = 1.0f;   // row 0, column 40: 1 / 3 = 0.333 -> level 0.3379, code 11
  w[78] = 0.5f;   // row 1, column 30
  const Quantized q = quantize(w, 32);
  EXPECT_EQ(q.absmax, (std::vector<float>{0.25f, 3.0f, 0.5f}));
  EXPECT_EQ(testing::reference_code(q.packed, 58), 0);
  EXPECT_EQ(testing::reference_code(q.packed, 40), 11);
  EXPECT_EQ(testing::reference_code(q.packed, 0), 15);   // 0.25 is its block's absmax
  EXPECT_EQ(testing::reference_code(q.packed, 79), 12);  // 0.25 / 0.5 -> 0.4407
}

TEST(QuantizeBlocks, ErrorIsAtMostHalfTheWidestLevelGap) {
  const std::vector<float> w = testing::gaussian(64 * 256, 0.02f, 7);
  const Quantized q = quantize(w, 64);
  const std::vector<float> w_hat = testing::reference_dequantize(q.packed, q.absmax, 64);
  double worst = 0.0;
  for (size_t i = 0; i < w.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(w[i]) - w_hat[i]) / q.absmax[i / 64]);
  EXPECT_LE(worst, (1.0 - 0.6961928009986877) / 2 + 1e-6);
  EXPECT_GT(worst, 0.05);  // Gaussian blocks do reach the wide outer gaps
}

TEST(FirstNonFinite, NamesTheFirstBadIndex) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(first_non_finite(std::vector<float>{1.0f, nan, inf}), 1);
  EXPECT_EQ(first_non_finite(std::vector<float>{1.0f, 2.0f, -inf}), 2);
  EXPECT_EQ(first_non_finite(std::vector<float>{1.0f, 2.0f, 3.0f}), -1);
}

TEST(DoubleQuantize, HandPickedAbsmax) {
  // mean 2; absmax - 2 = -1, 0, 1, so nested_absmax 1 and codes 0 (-0.99297), 127 (0),
  // 255 (1).
  const std::vector<float> absmax = {1.0f, 2.0f, 3.0f};
  const DoubleQuantized q = double_quantize(absmax);
  EXPECT_EQ(q.offset, 2.0f);
  EXPECT_EQ(q.nested_absmax, std::vector<float>{1.0f});
  EXPECT_EQ(q.codes, (std::vector<uint8_t>{0, 127, 255}));

  std::vector<float> back(3);
  double_dequantize(q.codes, q.nested_absmax, kNestedBlockSize, q.offset, dynamic_map().data(),
                    back.data());
  EXPECT_NEAR(back[0], 2.0 - 0.99296875, 1e-7);  // the map's extreme is 0.99297, not 1
  EXPECT_EQ(back[1], 2.0f);
  EXPECT_EQ(back[2], 3.0f);
}

TEST(DoubleQuantize, NestedBlocksOf256AndTheirError) {
  std::vector<float> absmax(600);
  for (size_t b = 0; b < absmax.size(); ++b)
    absmax[b] = 0.01f + std::fabs(testing::gaussian(1, 0.05f, static_cast<uint32_t>(b))[0]);
  const DoubleQuantized q = double_quantize(absmax);

  double mean = 0.0;
  for (float a : absmax) mean += a;
  mean /= static_cast<double>(absmax.size());
  EXPECT_EQ(q.offset, static_cast<float>(mean));
  ASSERT_EQ(q.nested_absmax.size(), 3u);  // 256 + 256 + 88
  ASSERT_EQ(q.codes.size(), absmax.size());

  std::vector<float> back(absmax.size());
  double_dequantize(q.codes, q.nested_absmax, kNestedBlockSize, q.offset, dynamic_map().data(),
                    back.data());
  double worst = 0.0;
  for (size_t first = 0; first < absmax.size(); first += 256) {
    const size_t last = std::min(absmax.size(), first + 256);
    float deviation = 0.0f;
    for (size_t b = first; b < last; ++b)
      deviation = std::max(deviation, std::fabs(absmax[b] - q.offset));
    EXPECT_EQ(q.nested_absmax[first / 256], deviation) << "nested block " << first / 256;
    for (size_t b = first; b < last; ++b) {
      // Half the widest gap of the dynamic map, 0.9 / 64 / 2, of the nested absmax.
      const double error = std::fabs(back[b] - absmax[b]);
      EXPECT_LE(error, 0.00703125 * deviation + 1e-7) << "absmax " << b;
      worst = std::max(worst, error / deviation);
    }
  }
  EXPECT_GT(worst, 0.001);  // 8 bits do lose something
}

TEST(DoubleQuantize, EqualAbsmaxValuesComeBackExactly) {
  // absmax - mean is 0 everywhere: nested absmax 0, codes 0 by the NaN path, and
  // map[0] * 0 + offset is the offset again.
  const std::vector<float> absmax(10, 0.5f);
  const DoubleQuantized q = double_quantize(absmax);
  EXPECT_EQ(q.nested_absmax, std::vector<float>{0.0f});
  std::vector<float> back(absmax.size());
  double_dequantize(q.codes, q.nested_absmax, kNestedBlockSize, q.offset, dynamic_map().data(),
                    back.data());
  EXPECT_EQ(back, absmax);
}

}  // namespace
}  // namespace lmf::quant::nf4
