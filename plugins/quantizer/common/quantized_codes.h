// A linear layer's weight quantized onto a uniform integer grid, before packing: what RTN and
// GPTQ produce and what the GPTQ checkpoint layout (gptq_layout.h) packs.
#pragma once

#include <cstdint>
#include <vector>

namespace lmf::quant {

// w[o][i] ≈ scales[g][o] * (codes[o][i] - zeros[g][o]) with g = g_idx[i].
struct QuantizedCodes {
  int bits = 4;             // 2, 3, 4 or 8
  int64_t group_size = -1;  // input columns per group; -1: one group per output channel
  bool sym = true;          // symmetric: every zero is 2^(bits-1)
  bool desc_act = false;    // GPTQ act-order: groups follow the activation order, g_idx says which
  int64_t out_features = 0;
  int64_t in_features = 0;
  std::vector<uint8_t> codes;  // [out_features, in_features] row-major, each in [0, 2^bits)
  std::vector<float> scales;   // [groups, out_features]
  std::vector<int32_t> zeros;  // [groups, out_features]; the layout stores 1..2^bits
                               // (Note [GPTQ v1 zeros], gptq_layout.h)
  std::vector<int32_t> g_idx;  // [in_features]: the group of each input column

  int64_t groups() const {
    return static_cast<int64_t>(scales.size()) / (out_features > 0 ? out_features : 1);
  }
};

}  // namespace lmf::quant
