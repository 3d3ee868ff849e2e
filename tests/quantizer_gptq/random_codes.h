// Random GPTQ-layout layers for the CUDA tests (the kernels, and the plugins' CUDA path):
// codes and zeros anywhere a v1 checkpoint allows, scales that fp16 holds exactly.
#pragma once

#include "plugins/quantizer/common/fp16.h"
#include "plugins/quantizer/common/quantized_codes.h"

#include <algorithm>
#include <cstdint>
#include <random>

namespace lmf::quant::gptq::testing {

// Codes in [0, 2^bits), zeros in 1..2^bits, scales of both signs, g_idx in order or
// (act_order) shuffled.
inline QuantizedCodes random_codes(int bits, int64_t out, int64_t in, int64_t group_size,
                                   bool act_order, uint64_t seed) {
  std::mt19937_64 random(seed);
  const int64_t groups = group_size > 0 && group_size < in ? in / group_size : 1;
  QuantizedCodes q;
  q.bits = bits, q.group_size = group_size, q.sym = false, q.desc_act = act_order;
  q.out_features = out, q.in_features = in;
  const uint64_t levels = uint64_t{1} << bits;
  for (int64_t k = 0; k < out * in; ++k) q.codes.push_back(static_cast<uint8_t>(random() % levels));
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (int64_t k = 0; k < groups * out; ++k) {
    q.zeros.push_back(static_cast<int32_t>(1 + random() % levels));
    q.scales.push_back(half_to_float(float_to_half(scale(random))));
  }
  for (int64_t i = 0; i < in; ++i) q.g_idx.push_back(static_cast<int32_t>(i / (in / groups)));
  if (act_order) std::shuffle(q.g_idx.begin(), q.g_idx.end(), random);
  return q;
}

}  // namespace lmf::quant::gptq::testing
