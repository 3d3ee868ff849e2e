// Random quantized layers and the naive float reference the layout and kernel tests compare
// against: w[o][i] = scale * (code - zero), straight from QuantizedCodes, never packed.
#pragma once

#include "plugins/quantizer/common/fp16.h"
#include "plugins/quantizer/common/quantized_codes.h"
#include "tests/conformance/quantizer/test_weights.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace lmf::quant::testing {

// Codes in [0, 2^bits), zeros in [1, 2^bits] (all a v1 checkpoint holds), fp16-exact scales
// of both signs and sizes; with act_order, g_idx is a shuffled sequential map.
inline QuantizedCodes random_codes(int bits, int64_t out, int64_t in, int64_t group_size,
                                   bool act_order, uint64_t seed) {
  conformance::Random random(seed);
  const int64_t groups = group_size > 0 && group_size < in ? in / group_size : 1;
  QuantizedCodes codes;
  codes.bits = bits;
  codes.group_size = group_size;
  codes.sym = false;
  codes.desc_act = act_order;
  codes.out_features = out;
  codes.in_features = in;
  const uint64_t levels = uint64_t{1} << bits;
  for (int64_t k = 0; k < out * in; ++k)
    codes.codes.push_back(static_cast<uint8_t>(random.next() % levels));
  for (int64_t k = 0; k < groups * out; ++k) {
    codes.zeros.push_back(static_cast<int32_t>(1 + random.next() % levels));
    const float scale = static_cast<float>(random.uniform(-0.05, 0.05));
    codes.scales.push_back(half_to_float(float_to_half(scale)));
  }
  for (int64_t i = 0; i < in; ++i) codes.g_idx.push_back(static_cast<int32_t>(i / (in / groups)));
  if (act_order)
    for (int64_t i = in - 1; i > 0; --i)
      std::swap(codes.g_idx[static_cast<size_t>(i)],
                codes.g_idx[random.next() % static_cast<uint64_t>(i + 1)]);
  return codes;
}

inline std::vector<float> reference_weight(const QuantizedCodes& codes) {
  const int64_t out = codes.out_features, in = codes.in_features;
  std::vector<float> w(static_cast<size_t>(out * in));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const size_t group = static_cast<size_t>(codes.g_idx[static_cast<size_t>(i)] * out + o);
      const int32_t level = codes.codes[static_cast<size_t>(o * in + i)] - codes.zeros[group];
      w[static_cast<size_t>(o * in + i)] = codes.scales[group] * static_cast<float>(level);
    }
  return w;
}

}  // namespace lmf::quant::testing
