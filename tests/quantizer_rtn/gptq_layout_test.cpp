// The GPTQ checkpoint layout (Note [GPTQ checkpoint layout]): packed words against values
// worked out by hand from AutoGPTQ's pack, round trips, config.json fields and refusals.
#include "plugins/quantizer/common/gptq_layout.h"
#include "tests/quantizer_rtn/test_layers.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>

namespace {

using lmf::quant::GptqTensors;
using lmf::quant::pack_gptq;
using lmf::quant::QuantizedCodes;
using lmf::quant::unpack_gptq;
using lmf::testing::Contains;

// A one-group layer with every code 0, scale 1 and zero `zero`; tests then set codes.
QuantizedCodes blank(int bits, int64_t out, int64_t in, int32_t zero) {
  QuantizedCodes codes;
  codes.bits = bits;
  codes.out_features = out;
  codes.in_features = in;
  codes.codes.assign(static_cast<size_t>(out * in), 0);
  codes.scales.assign(static_cast<size_t>(out), 1.0f);
  codes.zeros.assign(static_cast<size_t>(out), zero);
  codes.g_idx.assign(static_cast<size_t>(in), 0);
  return codes;
}

void set_code(QuantizedCodes& codes, int64_t o, int64_t i, int value) {
  codes.codes[static_cast<size_t>(o * codes.in_features + i)] = static_cast<uint8_t>(value);
}

uint32_t word(const std::vector<int32_t>& words, size_t at) {
  return static_cast<uint32_t>(words.at(at));
}

// Expected words below were worked out by hand: value k of a column in bits bits*k onwards
// (AutoGPTQ's pack: `qweight[row] |= intweight[j] << (bits * (j - i))`), zeros stored - 1.
TEST(GptqLayout, FourBitWordsHoldEightInputsLowestFirst) {
  QuantizedCodes codes = blank(4, 8, 8, 8);
  for (int i = 0; i < 8; ++i) set_code(codes, 0, i, i);
  for (int i = 0; i < 8; ++i) set_code(codes, 1, i, 15 - i);
  for (int o = 2; o < 8; ++o)
    for (int i = 0; i < 8; ++i) set_code(codes, o, i, 5);
  for (int o = 0; o < 8; ++o) codes.zeros[static_cast<size_t>(o)] = o + 1;
  const GptqTensors packed = pack_gptq(codes);
  ASSERT_EQ(packed.qweight.size(), 8u);  // [8 * 4 / 32, 8]
  EXPECT_EQ(word(packed.qweight, 0), 0x76543210u);
  EXPECT_EQ(word(packed.qweight, 1), 0x89abcdefu);
  for (size_t o = 2; o < 8; ++o) EXPECT_EQ(word(packed.qweight, o), 0x55555555u);
  ASSERT_EQ(packed.qzeros.size(), 1u);  // [1, 8 * 4 / 32]: zero - 1 = o at nibble o
  EXPECT_EQ(word(packed.qzeros, 0), 0x76543210u);
  ASSERT_EQ(packed.scales.size(), 8u);
  for (uint16_t scale : packed.scales) EXPECT_EQ(scale, 0x3c00);  // 1.0 in fp16
}

TEST(GptqLayout, TwoBitWordsHoldSixteenInputs) {
  QuantizedCodes codes = blank(2, 16, 16, 2);
  for (int i = 0; i < 16; ++i) set_code(codes, 0, i, i % 4);
  for (int i = 0; i < 8; ++i) set_code(codes, 1, i, 3);
  const GptqTensors packed = pack_gptq(codes);
  ASSERT_EQ(packed.qweight.size(), 16u);            // [1, 16]
  EXPECT_EQ(word(packed.qweight, 0), 0xe4e4e4e4u);  // 0,1,2,3 -> 0b11100100 per byte
  EXPECT_EQ(word(packed.qweight, 1), 0x0000ffffu);
  EXPECT_EQ(word(packed.qweight, 2), 0u);
  ASSERT_EQ(packed.qzeros.size(), 1u);
  EXPECT_EQ(word(packed.qzeros, 0), 0x55555555u);  // zero 2 stored as 1 = 0b01
}

TEST(GptqLayout, EightBitWordsHoldFourInputsAndZerosUpToTwoHundredFiftySix) {
  QuantizedCodes codes = blank(8, 4, 4, 128);
  const int column0[] = {0x12, 0x34, 0x56, 0x78}, column1[] = {255, 0, 0, 128};
  for (int i = 0; i < 4; ++i) set_code(codes, 0, i, column0[i]);
  for (int i = 0; i < 4; ++i) set_code(codes, 1, i, column1[i]);
  codes.zeros = {1, 2, 128, 256};
  const GptqTensors packed = pack_gptq(codes);
  ASSERT_EQ(packed.qweight.size(), 4u);
  EXPECT_EQ(word(packed.qweight, 0), 0x78563412u);
  EXPECT_EQ(word(packed.qweight, 1), 0x800000ffu);
  EXPECT_EQ(word(packed.qweight, 2), 0u);
  ASSERT_EQ(packed.qzeros.size(), 1u);
  EXPECT_EQ(word(packed.qzeros, 0), 0xff7f0100u);  // stored 0, 1, 127, 255
}

// AutoGPTQ's 3-bit pack: word 0 gets values 0..9 at 3j and value 10's low bits at 30-31;
// word 1 value 10's top bit at 0, values 11..20 at 3(j-11)+1, value 21's low bit at 31;
// word 2 value 21's top bits at 0-1, values 22..31 at 3(j-22)+2.
TEST(GptqLayout, ThreeBitValuesStraddleWordsAsAutoGptqPacksThem) {
  QuantizedCodes codes = blank(3, 32, 32, 4);
  const std::map<int, int> column0 = {{0, 1}, {9, 3}, {10, 5}, {11, 2}, {21, 6}, {22, 4}, {31, 7}};
  for (auto [i, value] : column0) set_code(codes, 0, i, value);
  for (int i = 0; i < 32; ++i) set_code(codes, 1, i, 7);
  const GptqTensors packed = pack_gptq(codes);
  ASSERT_EQ(packed.qweight.size(), 3u * 32u);  // [3, 32]
  // word 0: 1 | 3 << 27 | (5 & 3) << 30
  EXPECT_EQ(word(packed.qweight, 0 * 32), 0x58000001u);
  // word 1: 5 >> 2 | 2 << 1 | (6 & 1) << 31
  EXPECT_EQ(word(packed.qweight, 1 * 32), 0x00000005u);
  // word 2: 6 >> 1 | 4 << 2 | 7 << 29
  EXPECT_EQ(word(packed.qweight, 2 * 32), 0xe0000013u);
  for (size_t w = 0; w < 3; ++w) EXPECT_EQ(word(packed.qweight, w * 32 + 1), 0xffffffffu);
  for (size_t w = 0; w < 3; ++w) EXPECT_EQ(word(packed.qweight, w * 32 + 2), 0u);
  // Zero 4 stored as 3 = 0b011 for all 32 columns: bit b is set unless b % 3 == 2.
  ASSERT_EQ(packed.qzeros.size(), 3u);
  EXPECT_EQ(word(packed.qzeros, 0), 0xdb6db6dbu);
  EXPECT_EQ(word(packed.qzeros, 1), 0xb6db6db6u);
  EXPECT_EQ(word(packed.qzeros, 2), 0x6db6db6du);
}

TEST(GptqLayout, ShapesFollowAutoGptqsBuffers) {
  const lmf::quant::GptqShapes four = lmf::quant::gptq_shapes(4, 96, 256, 2);
  EXPECT_EQ(four.qweight, (std::vector<int64_t>{32, 96}));
  EXPECT_EQ(four.qzeros, (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(four.scales, (std::vector<int64_t>{2, 96}));
  EXPECT_EQ(four.g_idx, (std::vector<int64_t>{256}));
  const lmf::quant::GptqShapes three = lmf::quant::gptq_shapes(3, 64, 128, 1);
  EXPECT_EQ(three.qweight, (std::vector<int64_t>{12, 64}));
  EXPECT_EQ(three.qzeros, (std::vector<int64_t>{1, 6}));
}

struct RoundTripCase {
  int bits;
  int64_t out, in, group_size;
  bool act_order;
};

class GptqRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(GptqRoundTrip, UnpackGivesBackWhatWasPacked) {
  const RoundTripCase c = GetParam();
  const QuantizedCodes codes = lmf::quant::testing::random_codes(
      c.bits, c.out, c.in, c.group_size, c.act_order, static_cast<uint64_t>(c.bits * 1000 + c.in));
  const QuantizedCodes back = unpack_gptq(pack_gptq(codes));
  EXPECT_EQ(back.bits, codes.bits);
  EXPECT_EQ(back.group_size, codes.group_size);
  EXPECT_EQ(back.desc_act, codes.desc_act);
  EXPECT_EQ(back.out_features, codes.out_features);
  EXPECT_EQ(back.in_features, codes.in_features);
  EXPECT_EQ(back.codes, codes.codes);
  EXPECT_EQ(back.zeros, codes.zeros);  // 1..2^bits, 2^bits included
  EXPECT_EQ(back.scales, codes.scales);
  EXPECT_EQ(back.g_idx, codes.g_idx);
}

INSTANTIATE_TEST_SUITE_P(
    BitsAndGroups, GptqRoundTrip,
    ::testing::Values(RoundTripCase{2, 48, 64, 16, false}, RoundTripCase{2, 16, 96, -1, false},
                      RoundTripCase{3, 64, 96, 32, false}, RoundTripCase{3, 32, 128, 32, true},
                      RoundTripCase{3, 96, 64, -1, false}, RoundTripCase{4, 24, 64, 32, false},
                      RoundTripCase{4, 40, 128, 32, true}, RoundTripCase{4, 8, 16, 4, false},
                      RoundTripCase{8, 12, 12, 3, true}, RoundTripCase{8, 4, 100, -1, false}),
    [](const ::testing::TestParamInfo<RoundTripCase>& test) {
      const RoundTripCase& c = test.param;
      return std::to_string(c.bits) + "bit_" + std::to_string(c.out) + "x" + std::to_string(c.in) +
             "_g" + (c.group_size < 0 ? "all" : std::to_string(c.group_size)) +
             (c.act_order ? "_act_order" : "");
    });

TEST(GptqLayout, QuantizationConfigHasWhatVllmAndTransformersRead) {
  EXPECT_EQ(lmf::quant::gptq_quantization_config(4, 128, true, false),
            nlohmann::json::parse(R"({"quant_method":"gptq","bits":4,"group_size":128,
              "desc_act":false,"sym":true,"checkpoint_format":"gptq"})"));
  EXPECT_EQ(lmf::quant::gptq_quantization_config(3, -1, false, true).at("group_size"), -1);
}

// The message of the std::invalid_argument that `body` throws.
template <class Body>
std::string refusal(Body&& body) {
  try {
    body();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no exception)";
}

TEST(GptqLayout, PackRefusesWhatTheLayoutCannotHold) {
  QuantizedCodes five_bits = blank(4, 8, 8, 8);
  five_bits.bits = 5;
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(five_bits); }),
                       "bits is 5, but the format stores 2, 3, 4 or 8 bits"));

  QuantizedCodes zero_zero = blank(4, 8, 8, 8);
  zero_zero.zeros[3] = 0;
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(zero_zero); }),
                       "zeros[0][3] is 0, but the v1 layout stores zeros 1..16"));

  QuantizedCodes big_code = blank(4, 8, 8, 8);
  set_code(big_code, 2, 5, 16);
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(big_code); }), "codes[2][5] is 16, expected 0..15"));

  const QuantizedCodes odd_in = blank(4, 8, 12, 8);
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(odd_in); }),
                       "needs in_features and out_features that are multiples of 8"));
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(odd_in); }), "[out, in] = [8, 12]"));
  const QuantizedCodes three_bit_rows = blank(3, 16, 32, 4);
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(three_bit_rows); }), "multiples of 32"));

  QuantizedCodes bad_group = blank(4, 8, 16, 8);
  bad_group.group_size = 6;
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(bad_group); }),
                       "group_size 6 does not divide in_features 16"));

  QuantizedCodes bad_g_idx = blank(4, 8, 16, 8);
  bad_g_idx.g_idx[9] = 1;  // one group only
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(bad_g_idx); }), "g_idx[9] is 1, expected 0..0"));

  QuantizedCodes huge_scale = blank(4, 8, 8, 8);
  huge_scale.scales[1] = 1e6f;
  EXPECT_TRUE(Contains(refusal([&] { pack_gptq(huge_scale); }),
                       "scales[0][1] is 1000000.000000, which fp16 cannot hold"));

  QuantizedCodes short_scales = blank(4, 8, 8, 8);
  short_scales.scales.pop_back();
  EXPECT_TRUE(
      Contains(refusal([&] { pack_gptq(short_scales); }), "scales holds 7 values, expected 8"));
}

TEST(GptqLayout, AGroupAtLeastTheInputIsOneGroup) {
  QuantizedCodes codes = blank(4, 8, 64, 8);
  codes.group_size = 128;
  const GptqTensors packed = pack_gptq(codes);
  EXPECT_EQ(packed.groups, 1);
  EXPECT_EQ(packed.group_size, 128);
}

}  // namespace
