// AutoAWQ's GEMM layout (Note [AWQ GEMM layout]) against words worked out by hand from
// WQLinear_GEMM.from_linear: `qweight[:, col] |= intweight[:, col*8 + order_map[n]] << 4n`
// with order_map [0, 2, 4, 6, 1, 3, 5, 7].
#include "awq_gemm_layout.h"
#include "awq_test_support.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>

namespace {

using namespace lmf::quant::awq;
using lmf::quant::QuantizedCodes;
using lmf::quant::awq::testing::expect_error;

// A 16 × 4 layer in groups of 2 (two groups): code[o][i] = (o + 3i) mod 16, zero[g][o] =
// (5o + g) mod 16, scale[g][o] = 0.5 for g = 0 and 1 for g = 1.
QuantizedCodes small_layer() {
  QuantizedCodes q;
  q.bits = 4, q.group_size = 2, q.sym = false, q.out_features = 16, q.in_features = 4;
  for (int o = 0; o < 16; ++o)
    for (int i = 0; i < 4; ++i) q.codes.push_back(static_cast<uint8_t>((o + 3 * i) % 16));
  for (int g = 0; g < 2; ++g)
    for (int o = 0; o < 16; ++o) {
      q.zeros.push_back((5 * o + g) % 16);
      q.scales.push_back(g == 0 ? 0.5f : 1.0f);
    }
  q.g_idx = {0, 0, 1, 1};
  return q;
}

uint32_t word(int32_t w) {
  return static_cast<uint32_t>(w);
}

TEST(AwqGemmLayout, OneWordHoldsColumnsInAutoAwqOrder) {
  // Codes 1…8 in columns 0…7: nibbles 0…7 hold columns 0, 2, 4, 6, 1, 3, 5, 7, i.e.
  // values 1, 3, 5, 7, 2, 4, 6, 8 from the lowest nibble up.
  EXPECT_EQ(awq_pack_word({1, 2, 3, 4, 5, 6, 7, 8}), 0x86427531u);
  // Unpacking 0x76543210 (nibble n holds n): column c reads nibble 0, 4, 1, 5, 2, 6, 3, 7.
  const uint8_t expected[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  for (int c = 0; c < 8; ++c) EXPECT_EQ(awq_unpack_value(0x76543210u, c), expected[c]) << c;
}

TEST(AwqGemmLayout, PacksQweightQzerosAndScalesAsWorkedOutByHand) {
  const AwqGemmTensors t = pack_awq_gemm(small_layer(), "blk.0.mlp.up_proj");
  EXPECT_EQ(t.groups, 2);
  ASSERT_EQ(t.qweight.size(), 8u);  // [in 4, out/8 2]
  // Row i = 0: columns 0…7 hold 0…7, columns 8…15 hold 8…15.
  EXPECT_EQ(word(t.qweight[0]), 0x75316420u);
  EXPECT_EQ(word(t.qweight[1]), 0xfdb9eca8u);
  // Row i = 1: (o + 3) mod 16: 3…10, then 11…15, 0, 1, 2.
  EXPECT_EQ(word(t.qweight[2]), 0xa8649753u);
  EXPECT_EQ(word(t.qweight[3]), 0x20ec1fdbu);
  ASSERT_EQ(t.qzeros.size(), 4u);  // [groups 2, out/8 2]
  // Group 0: zeros 0, 5, 10, 15, 4, 9, 14, 3 | 8, 13, 2, 7, 12, 1, 6, 11.
  EXPECT_EQ(word(t.qzeros[0]), 0x39f5e4a0u);
  EXPECT_EQ(word(t.qzeros[1]), 0xb17d6c28u);
  EXPECT_EQ(word(t.qzeros[2]), 0x4a06f5b1u);
  EXPECT_EQ(word(t.qzeros[3]), 0xc28e7d39u);
  ASSERT_EQ(t.scales.size(), 32u);  // [groups, out] fp16: 0.5 is 0x3800, 1.0 is 0x3c00
  EXPECT_EQ(t.scales[0], 0x3800);
  EXPECT_EQ(t.scales[15], 0x3800);
  EXPECT_EQ(t.scales[16], 0x3c00);
}

TEST(AwqGemmLayout, UnpackInvertsPackOnRandomLayers) {
  std::mt19937 random(7);
  QuantizedCodes q;
  q.bits = 4, q.group_size = 32, q.sym = false, q.out_features = 24, q.in_features = 96;
  for (int k = 0; k < 24 * 96; ++k) q.codes.push_back(static_cast<uint8_t>(random() % 16));
  for (int k = 0; k < 3 * 24; ++k) {
    q.zeros.push_back(static_cast<int32_t>(random() % 16));
    q.scales.push_back(static_cast<float>(random() % 1000 + 1) / 4096.0f);  // fp16-exact
  }
  for (int i = 0; i < 96; ++i) q.g_idx.push_back(i / 32);
  const QuantizedCodes back = unpack_awq_gemm(pack_awq_gemm(q, "layer"));
  EXPECT_EQ(back.codes, q.codes);
  EXPECT_EQ(back.zeros, q.zeros);
  EXPECT_EQ(back.scales, q.scales);
  EXPECT_EQ(back.g_idx, q.g_idx);
  EXPECT_EQ(back.out_features, 24);
  EXPECT_EQ(back.in_features, 96);
}

TEST(AwqGemmLayout, QuantizationConfigIsAutoAwqs) {
  EXPECT_EQ(awq_quantization_config(128),
            nlohmann::json::parse(R"({"quant_method":"awq","bits":4,"group_size":128,)"
                                  R"("zero_point":true,"version":"gemm"})"));
}

TEST(AwqGemmLayout, RefusesWhatTheLayoutCannotHoldNamingLayerAndField) {
  const auto refused = [](auto edit, std::initializer_list<std::string> parts) {
    QuantizedCodes q = small_layer();
    edit(q);
    expect_error([&] { pack_awq_gemm(q, "blk.3.o_proj"); }, parts);
  };
  refused([](QuantizedCodes& q) { q.bits = 3; }, {"blk.3.o_proj", "bits must be 4", "got 3"});
  refused([](QuantizedCodes& q) { q.sym = true; }, {"blk.3.o_proj", "sym"});
  refused([](QuantizedCodes& q) { q.group_size = 3; },
          {"blk.3.o_proj", "group_size 3 does not divide in_features 4"});
  refused([](QuantizedCodes& q) { q.zeros[3] = 16; }, {"blk.3.o_proj", "zeros[0, 3]", "16"});
  refused([](QuantizedCodes& q) { q.codes[1 * 4 + 2] = 16; }, {"blk.3.o_proj", "codes[1, 2]"});
  refused([](QuantizedCodes& q) { q.scales[17] = 1e6f; }, {"blk.3.o_proj", "scales[1, 1]"});
  refused([](QuantizedCodes& q) { q.g_idx = {1, 0, 0, 1}; }, {"blk.3.o_proj", "g_idx[0]"});
  refused(
      [](QuantizedCodes& q) {
        q.out_features = 12;
        q.codes.resize(48);
      },
      {"blk.3.o_proj", "out_features must be a positive multiple of 8", "12"});
}

}  // namespace
