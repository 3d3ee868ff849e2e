#include "awq_gemm_layout.h"

#include "plugins/quantizer/common/fp16.h"

#include <lmf/sdk/error.h>

#include <cmath>
#include <string>

namespace lmf::quant::awq {
namespace {

using lmf::sdk::fail;

[[noreturn]] void refuse(std::string_view layer, const std::string& message) {
  fail(LMF_ERR_INVALID_ARGUMENT,
       "layer \"" + std::string(layer) + "\": AWQ GEMM layout: " + message);
}

std::string at(int64_t row, int64_t col) {
  return "[" + std::to_string(row) + ", " + std::to_string(col) + "]";
}

}  // namespace

AwqGemmTensors pack_awq_gemm(const QuantizedCodes& q, std::string_view layer) {
  if (q.bits != 4) refuse(layer, "bits must be 4, got " + std::to_string(q.bits));
  if (q.sym) refuse(layer, "sym must be false: the layout stores a zero point per group");
  if (q.out_features <= 0 || q.out_features % 8 != 0)
    refuse(layer,
           "out_features must be a positive multiple of 8, got " + std::to_string(q.out_features));
  if (q.in_features <= 0) refuse(layer, "in_features must be positive");
  const int64_t group = q.group_size == -1 ? q.in_features : q.group_size;
  if (group <= 0 || q.in_features % group != 0)
    refuse(layer, "group_size " + std::to_string(q.group_size) + " does not divide in_features " +
                      std::to_string(q.in_features));
  const int64_t out = q.out_features, in = q.in_features, groups = in / group, words = out / 8;
  if (q.codes.size() != static_cast<size_t>(out * in))
    refuse(layer, "codes: expected " + std::to_string(out * in) + " values, got " +
                      std::to_string(q.codes.size()));
  if (q.scales.size() != static_cast<size_t>(groups * out) || q.zeros.size() != q.scales.size())
    refuse(layer, "scales and zeros: expected " + std::to_string(groups * out) +
                      " values each ([groups, out]), got " + std::to_string(q.scales.size()) +
                      " and " + std::to_string(q.zeros.size()));
  if (q.g_idx.size() != static_cast<size_t>(in))
    refuse(layer, "g_idx: expected " + std::to_string(in) + " values, got " +
                      std::to_string(q.g_idx.size()));
  for (int64_t i = 0; i < in; ++i)
    if (q.g_idx[static_cast<size_t>(i)] != i / group)
      refuse(layer, "g_idx[" + std::to_string(i) + "] is " +
                        std::to_string(q.g_idx[static_cast<size_t>(i)]) + ", the layout needs " +
                        std::to_string(i / group) + " (no act-order)");

  AwqGemmTensors t;
  t.group_size = q.group_size, t.out_features = out, t.in_features = in, t.groups = groups;
  t.qweight.resize(static_cast<size_t>(in * words));
  t.qzeros.resize(static_cast<size_t>(groups * words));
  t.scales.resize(static_cast<size_t>(groups * out));
  std::array<uint8_t, 8> values{};
  for (int64_t i = 0; i < in; ++i)
    for (int64_t j = 0; j < words; ++j) {
      for (int64_t c = 0; c < 8; ++c) {
        const uint8_t code = q.codes[static_cast<size_t>((8 * j + c) * in + i)];
        if (code > 15)
          refuse(layer, "codes" + at(8 * j + c, i) + " is " + std::to_string(code) + ", above 15");
        values[static_cast<size_t>(c)] = code;
      }
      t.qweight[static_cast<size_t>(i * words + j)] = static_cast<int32_t>(awq_pack_word(values));
    }
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t j = 0; j < words; ++j) {
      for (int64_t c = 0; c < 8; ++c) {
        const int32_t zero = q.zeros[static_cast<size_t>(g * out + 8 * j + c)];
        if (zero < 0 || zero > 15)
          refuse(layer,
                 "zeros" + at(g, 8 * j + c) + " is " + std::to_string(zero) + ", outside 0..15");
        values[static_cast<size_t>(c)] = static_cast<uint8_t>(zero);
      }
      t.qzeros[static_cast<size_t>(g * words + j)] = static_cast<int32_t>(awq_pack_word(values));
    }
    for (int64_t o = 0; o < out; ++o) {
      const float scale = q.scales[static_cast<size_t>(g * out + o)];
      const uint16_t half = float_to_half(scale);
      if (!std::isfinite(scale) || (half & 0x7c00u) == kHalfInfinity)
        refuse(layer,
               "scales" + at(g, o) + " is " + std::to_string(scale) + ", which fp16 cannot hold");
      t.scales[static_cast<size_t>(g * out + o)] = half;
    }
  }
  return t;
}

QuantizedCodes unpack_awq_gemm(const AwqGemmTensors& t) {
  QuantizedCodes q;
  q.bits = 4, q.group_size = t.group_size, q.sym = false, q.desc_act = false;
  q.out_features = t.out_features, q.in_features = t.in_features;
  const int64_t out = t.out_features, in = t.in_features, words = out / 8;
  const int64_t group = in / t.groups;
  q.codes.resize(static_cast<size_t>(out * in));
  for (int64_t i = 0; i < in; ++i)
    for (int64_t o = 0; o < out; ++o)
      q.codes[static_cast<size_t>(o * in + i)] =
          awq_unpack_value(static_cast<uint32_t>(t.qweight[static_cast<size_t>(i * words + o / 8)]),
                           static_cast<int>(o % 8));
  q.zeros.resize(static_cast<size_t>(t.groups * out));
  q.scales.resize(q.zeros.size());
  for (int64_t g = 0; g < t.groups; ++g)
    for (int64_t o = 0; o < out; ++o) {
      q.zeros[static_cast<size_t>(g * out + o)] =
          awq_unpack_value(static_cast<uint32_t>(t.qzeros[static_cast<size_t>(g * words + o / 8)]),
                           static_cast<int>(o % 8));
      q.scales[static_cast<size_t>(g * out + o)] =
          half_to_float(t.scales[static_cast<size_t>(g * out + o)]);
    }
  for (int64_t i = 0; i < in; ++i) q.g_idx.push_back(static_cast<int32_t>(i / group));
  return q;
}

nlohmann::json awq_quantization_config(int64_t group_size) {
  return {{"quant_method", "awq"},
          {"bits", 4},
          {"group_size", group_size},
          {"zero_point", true},
          {"version", "gemm"}};
}

}  // namespace lmf::quant::awq
