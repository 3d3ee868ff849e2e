// The NF4 levels and the 8-bit dynamic map, and the rounding onto each, against
// bitsandbytes' published tables and values worked out by hand.
#include "plugins/quantizer/nf4/nf4_codebook.h"
#include "tests/quantizer_nf4/nf4_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace lmf::quant::nf4 {
namespace {

using testing::kBitsandbytesNf4;

TEST(Nf4Levels, AreBitsandbytesTable) {
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(kNf4Levels[i], static_cast<float>(kBitsandbytesNf4[i])) << "level " << i;
}

TEST(Nf4Code, HandPickedValuesTakeTheirNearestLevel) {
  EXPECT_EQ(nf4_code(1.0f), 15);
  EXPECT_EQ(nf4_code(-1.0f), 0);
  EXPECT_EQ(nf4_code(0.0f), 7);
  EXPECT_EQ(nf4_code(0.5f), 12);   // 0.4407 is 0.059 away, 0.5626 is 0.063 away
  EXPECT_EQ(nf4_code(-0.5f), 2);   // -0.5251 is 0.025 away
  EXPECT_EQ(nf4_code(0.75f), 14);  // 0.7230 is 0.027 away
  EXPECT_EQ(nf4_code(0.04f), 8);   // 0.0796 is 0.0396 away, 0 is 0.04 away
  EXPECT_EQ(nf4_code(-0.05f), 6);  // -0.0911 is 0.041 away, 0 is 0.05 away
  EXPECT_EQ(nf4_code(0.87f), 15);  // past the midpoint 0.8615 of 0.7230 and 1
  EXPECT_EQ(nf4_code(-0.84f), 1);  // short of the midpoint -0.8481 of -1 and -0.6962
}

TEST(Nf4Code, AValueOnAThresholdTakesTheLowerCode) {
  // bitsandbytes' dQuantizeNF4 tests `x > threshold`; thresholds as its float literals.
  const float between_0_and_0_0796 = 0.03979014977812767f;
  EXPECT_EQ(nf4_code(between_0_and_0_0796), 7);
  EXPECT_EQ(nf4_code(std::nextafter(between_0_and_0_0796, 1.0f)), 8);
  const float between_minus_1_and_minus_0_696 = -0.8480964004993439f;
  EXPECT_EQ(nf4_code(between_minus_1_and_minus_0_696), 0);
  EXPECT_EQ(nf4_code(std::nextafter(between_minus_1_and_minus_0_696, 0.0f)), 1);
}

TEST(Nf4Code, EveryValueAwayFromAMidpointTakesTheNearestLevel) {
  for (int step = -20000; step <= 20000; ++step) {
    const float x = static_cast<float>(step) / 20000.0f;
    size_t nearest = 0;
    for (size_t i = 1; i < 16; ++i)
      if (std::fabs(x - kBitsandbytesNf4[i]) < std::fabs(x - kBitsandbytesNf4[nearest]))
        nearest = i;
    bool near_midpoint = false;
    for (size_t i = 0; i + 1 < 16; ++i)
      near_midpoint = near_midpoint ||
                      std::fabs(x - (kBitsandbytesNf4[i] + kBitsandbytesNf4[i + 1]) / 2) < 1e-6;
    if (!near_midpoint) {
      EXPECT_EQ(nf4_code(x), nearest) << "x = " << x;
    }
  }
}

TEST(Nf4Code, NaNTakesCodeZeroAsInBitsandbytes) {
  // A block of zeros normalizes to 0 * inf = NaN; every comparison is false.
  EXPECT_EQ(nf4_code(std::numeric_limits<float>::quiet_NaN()), 0);
}

TEST(DynamicMap, HasTheShapeOfBitsandbytesSignedDynamicType) {
  const std::array<float, 256>& map = dynamic_map();
  for (size_t i = 1; i < 256; ++i) EXPECT_LT(map[i - 1], map[i]) << "index " << i;
  EXPECT_EQ(map[127], 0.0f);
  EXPECT_EQ(map[255], 1.0f);
  for (size_t i = 0; i < 127; ++i) EXPECT_EQ(map[i], -map[254 - i]) << "index " << i;
  // 2^k midpoints in the decade (10^(k-7), 10^(k-6)) for k = 0..6.
  for (int k = 0; k < 7; ++k) {
    int in_decade = 0;
    for (float value : map)
      in_decade += value > std::pow(10.0, k - 7) && value < std::pow(10.0, k - 6) ? 1 : 0;
    EXPECT_EQ(in_decade, 1 << k) << "decade " << k;
  }
}

TEST(DynamicMap, ValuesAreTorchsFloat32Ones) {
  const std::array<float, 256>& map = dynamic_map();
  // (0.9859375 + 1) / 2 = 0.99296875 and (0.1 + 1) / 2 * 1e-6, each rounded to float.
  EXPECT_EQ(map[254], 0.99296875f);
  EXPECT_EQ(map[0], -0.99296875f);
  EXPECT_EQ(map[128], 5.500000384017767e-07f);
  // 0.1 + 43.5 * 0.9 / 64 = 0.71171875 in exact arithmetic; torch's float32 linspace, a
  // fused multiply-add, lands one ulp above the correctly rounded 0.711718738f. This is
  // the value bitsandbytes' create_dynamic_map() returns.
  EXPECT_EQ(map[234], 0.7117187976837158f);
  EXPECT_EQ(map[20], -0.7117187976837158f);
}

TEST(DynamicCode, EveryMapValueFindsItself) {
  const float* map = dynamic_map().data();
  for (int i = 0; i < 256; ++i) EXPECT_EQ(dynamic_code(map[i], map), i) << "index " << i;
}

TEST(DynamicCode, HandPickedValues) {
  const float* map = dynamic_map().data();
  EXPECT_EQ(dynamic_code(1.0f, map), 255);
  EXPECT_EQ(dynamic_code(-1.0f, map), 0);
  EXPECT_EQ(dynamic_code(0.0f, map), 127);
  EXPECT_EQ(dynamic_code(0.999f, map), 255);  // past the midpoint 0.99648 of 0.99297 and 1
  EXPECT_EQ(dynamic_code(0.996f, map), 254);
  EXPECT_EQ(dynamic_code(2e-7f, map), 127);  // nearer 0 than 5.5e-7
  EXPECT_EQ(dynamic_code(3e-7f, map), 128);
  EXPECT_EQ(dynamic_code(std::numeric_limits<float>::quiet_NaN(), map), 0);
}

TEST(DynamicCode, MidpointsGoToTheEvenIndex) {
  // The search ends on an even index and keeps it unless x is strictly past a midpoint.
  const float* map = dynamic_map().data();
  for (int k = 1; k < 254; ++k) {
    const float midpoint = (map[k] + map[k + 1]) * 0.5f;
    EXPECT_EQ(dynamic_code(midpoint, map), k % 2 == 0 ? k : k + 1) << "between " << k;
  }
}

}  // namespace
}  // namespace lmf::quant::nf4
