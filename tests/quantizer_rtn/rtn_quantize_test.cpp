// rtn_quantize directly: the grid of Note [GPTQ grid] on values worked out by hand, and the
// refusals that name the setting, extent or weight at fault.
#include "plugins/quantizer/rtn/rtn_quantize.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using lmf::quant::QuantizedCodes;
using lmf::quant::rtn_quantize;
using lmf::quant::RtnSettings;
using lmf::testing::Contains;

// One 8x8 4-bit layer whose first row is `row` and the others zero.
QuantizedCodes quantize_row(std::vector<float> row, bool sym) {
  row.resize(64, 0.0f);
  return rtn_quantize(row.data(), 8, 8, RtnSettings{4, -1, sym});
}

std::vector<int> first_codes(const QuantizedCodes& codes, size_t count) {
  return std::vector<int>(codes.codes.begin(), codes.codes.begin() + static_cast<long>(count));
}

// max|w| = 1: scale 2/15 = 0.1333…, stored as the fp16 0x3044 = 0.13330078125; codes are
// chosen against that stored scale: 0.2 / 0.13330078 = 1.5004 -> 2 -> code 10.
TEST(RtnQuantize, SymmetricScaleIsTwiceTheMaxOverMaxqInFp16) {
  const QuantizedCodes codes =
      quantize_row({1.0f, -1.0f, 0.2f, -0.2f, 0.0f, 0.9f, 0.5f, 0.1f}, true);
  EXPECT_EQ(codes.scales[0], 0.13330078125f);
  EXPECT_EQ(codes.zeros[0], 8);
  // 0.9 / s = 6.75 -> 7 -> 15; 0.5 / s = 3.751 -> 4 -> 12; 0.1 / s = 0.750 -> 1 -> 9
  EXPECT_EQ(first_codes(codes, 8), (std::vector<int>{15, 0, 10, 6, 8, 15, 12, 9}));
  EXPECT_EQ(codes.g_idx, std::vector<int32_t>(8, 0));
  EXPECT_FALSE(codes.desc_act);
}

// AutoGPTQ keeps min = 0 for a group without negative weights (scale = max / 15); we widen
// to ±max like every other group, so 7.5 stays within half a step: scale 1, code 15.
TEST(RtnQuantize, SymmetricGroupWithoutNegativesIsWidenedToPlusMinusMax) {
  const QuantizedCodes codes = quantize_row({0.0f, 7.5f, 3.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f}, true);
  EXPECT_EQ(codes.scales[0], 1.0f);
  EXPECT_EQ(codes.zeros[0], 8);
  EXPECT_EQ(first_codes(codes, 4), (std::vector<int>{8, 15, 11, 9}));
}

// lo = -3, hi = 0: scale 3/15 = 0.2, stored 0.199951171875; zero = round(3 / 0.19995) = 15.
TEST(RtnQuantize, AsymmetricRangeHoldsZero) {
  const QuantizedCodes codes = quantize_row({-3.0f, -1.0f, -2.0f, 0.0f, -0.1f, 0, 0, 0}, false);
  EXPECT_EQ(codes.scales[0], 0.199951171875f);
  EXPECT_EQ(codes.zeros[0], 15);
  // -1 / s = -5.0012 -> -5 -> 10; -0.1 / s = -0.5001 -> -1 -> 14
  EXPECT_EQ(first_codes(codes, 5), (std::vector<int>{0, 10, 5, 15, 14}));
}

// lo = 0, hi = 14: zero round(0) = 0 cannot be stored in v1, so zero 1, scale 14 / 14 = 1.
TEST(RtnQuantize, AsymmetricZeroOfZeroBecomesOne) {
  const QuantizedCodes codes = quantize_row({0.0f, 14.0f, 3.0f, 13.5f, 0, 0, 0, 0}, false);
  EXPECT_EQ(codes.scales[0], 1.0f);
  EXPECT_EQ(codes.zeros[0], 1);
  EXPECT_EQ(first_codes(codes, 4), (std::vector<int>{1, 15, 4, 15}));
}

// A group of zeros gets AutoGPTQ's -1..1; one too small for fp16 gets its smallest
// subnormal 2^-24 as scale, so codes stay finite.
TEST(RtnQuantize, ZeroAndTinyGroupsGetUsableScales) {
  const QuantizedCodes zero = quantize_row({}, true);
  EXPECT_EQ(zero.scales[0], 0.13330078125f);
  EXPECT_EQ(first_codes(zero, 8), std::vector<int>(8, 8));
  const QuantizedCodes tiny = quantize_row({1e-9f, -1e-9f}, true);
  EXPECT_EQ(tiny.scales[0], 0x1.0p-24f);
  EXPECT_EQ(first_codes(tiny, 2), (std::vector<int>{8, 8}));
}

TEST(RtnQuantize, GroupsFollowTheInputOrder) {
  std::vector<float> w(8 * 64, 0.0f);
  for (int i = 0; i < 64; ++i)
    w[static_cast<size_t>(i)] = static_cast<float>(i / 32 + 1) * 7.5f * (i % 2 ? 1 : -1);
  const QuantizedCodes codes = rtn_quantize(w.data(), 8, 64, RtnSettings{4, 32, true});
  ASSERT_EQ(codes.scales.size(), 2u * 8u);  // [groups, out]
  EXPECT_EQ(codes.scales[0], 1.0f);         // group 0 of row 0: max 7.5
  EXPECT_EQ(codes.scales[8], 2.0f);         // group 1 of row 0: max 15
  EXPECT_EQ(codes.g_idx[31], 0);
  EXPECT_EQ(codes.g_idx[32], 1);
}

std::string refusal(std::vector<float> w, int64_t rows, int64_t cols, RtnSettings settings) {
  w.resize(static_cast<size_t>(rows * cols), 0.5f);
  try {
    rtn_quantize(w.data(), rows, cols, settings);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

TEST(RtnQuantize, RefusalsSayWhatIsWrong) {
  EXPECT_TRUE(Contains(refusal({}, 8, 8, {5, -1, true}),
                       "bits is 5, but the GPTQ layout stores 2, 3, 4 or 8 bits"));
  EXPECT_TRUE(Contains(refusal({}, 8, 8, {4, 0, true}), "group_size is 0, expected -1"));
  EXPECT_TRUE(Contains(refusal({}, 8, 64, {4, 48, true}),
                       "group_size 48 does not divide in_features 64 (weight [8, 64])"));
  EXPECT_TRUE(Contains(refusal({}, 16, 20, {2, -1, true}),
                       "positive multiples of 16; the weight is [16, 20]"));
  std::vector<float> nan_at_1_2(16, 0.5f);
  nan_at_1_2[8 + 2] = std::nanf("");
  EXPECT_TRUE(Contains(refusal(nan_at_1_2, 8, 8, {4, -1, true}), "weight[1][2] is nan"));
}

}  // namespace
