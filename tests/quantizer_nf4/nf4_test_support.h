// What the nf4 tests share: bitsandbytes' NF4 table as literals, a reference dequantization
// written apart from the plugin's kernels, and seeded weights.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace lmf::quant::nf4::testing {

// bitsandbytes' NF4 table, copied from bitsandbytes/functional.py, get_4bit_type("nf4")
// (the same values as nf4_dequantization_lut in csrc/kernels.cu). This is the reference.
inline constexpr std::array<double, 16> kBitsandbytesNf4 = {
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
};

// The code of flat element i of a packed weight: bitsandbytes puts element 2k in the high
// nibble of byte k and element 2k + 1 in the low nibble.
inline int reference_code(const std::vector<uint8_t>& packed, int64_t i) {
  const uint8_t byte = packed[static_cast<size_t>(i / 2)];
  return i % 2 == 0 ? byte >> 4 : byte & 0x0f;
}

// w[i] = level(code i) * absmax[i / block_size], one float product as bitsandbytes'
// dequantize_4bit computes it.
inline std::vector<float> reference_dequantize(const std::vector<uint8_t>& packed,
                                               const std::vector<float>& absmax,
                                               int64_t block_size) {
  std::vector<float> w(packed.size() * 2);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = static_cast<float>(kBitsandbytesNf4[static_cast<size_t>(
               reference_code(packed, static_cast<int64_t>(i)))]) *
           absmax[i / static_cast<size_t>(block_size)];
  return w;
}

inline std::vector<float> gaussian(size_t count, float sigma, uint32_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> values(count);
  for (float& value : values) value = normal(random);
  return values;
}

}  // namespace lmf::quant::nf4::testing
