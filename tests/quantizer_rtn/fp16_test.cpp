// float <-> IEEE half against values known from the format's definition.
#include "plugins/quantizer/common/fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using lmf::quant::float_to_half;
using lmf::quant::half_to_float;

TEST(Fp16, RoundsToNearestWithTiesToEven) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(0.0f), 0x0000);
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);               // the largest half
  EXPECT_EQ(float_to_half(1.0f + 0x1.0p-11f), 0x3c00);      // tie: to the even 1.0
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1.0p-11f), 0x3c02);  // tie: to the even 1 + 2^-9
  EXPECT_EQ(float_to_half(1.0f + 0x1.8p-11f), 0x3c01);      // above the tie
  EXPECT_EQ(float_to_half(0.2f), 0x3266);
}

TEST(Fp16, OverflowsToInfinityFrom65520) {
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);
  EXPECT_EQ(float_to_half(-1e9f), 0xfc00);
  EXPECT_EQ(float_to_half(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(float_to_half(std::nanf("")) & 0x7c00, 0x7c00);
  EXPECT_NE(float_to_half(std::nanf("")) & 0x03ff, 0);
}

TEST(Fp16, SubnormalsAreMultiplesOfTwoToTheMinus24) {
  EXPECT_EQ(float_to_half(0x1.0p-24f), 0x0001);
  EXPECT_EQ(float_to_half(0x1.0p-25f), 0x0000);    // tie: to the even 0
  EXPECT_EQ(float_to_half(0x1.8p-24f), 0x0002);    // 1.5 ulp: tie to the even 2
  EXPECT_EQ(float_to_half(0x1.ff8p-15f), 0x03ff);  // the largest subnormal, 1023 * 2^-24
  EXPECT_EQ(float_to_half(0x1.ffcp-15f), 0x0400);  // 1023.5: tie up into the normal range
  EXPECT_EQ(float_to_half(0x1.0p-14f), 0x0400);    // the smallest normal
  EXPECT_EQ(float_to_half(1e-10f), 0x0000);
}

TEST(Fp16, HalfToFloatIsExact) {
  EXPECT_EQ(half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(half_to_float(0x3555), 0.333251953125f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0x0001), 0x1.0p-24f);
  EXPECT_EQ(half_to_float(0x03ff), 0x1.ff8p-15f);
  EXPECT_EQ(half_to_float(0x8400), -0x1.0p-14f);
  EXPECT_TRUE(std::isinf(half_to_float(0x7c00)));
  EXPECT_TRUE(std::isnan(half_to_float(0x7e00)));
  for (uint32_t bits = 0; bits < 0x7c00; ++bits)  // every finite positive half round-trips
    ASSERT_EQ(float_to_half(half_to_float(static_cast<uint16_t>(bits))), bits) << bits;
}

}  // namespace
