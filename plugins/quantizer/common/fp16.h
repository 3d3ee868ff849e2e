// IEEE 754 half precision (binary16), the dtype of GPTQ's scales, as raw 16-bit patterns:
// neither C++20 nor GCC 12 on every target has a half type.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

namespace lmf::quant {

constexpr uint16_t kHalfSmallestSubnormal = 0x0001;  // 2^-24
constexpr uint16_t kHalfInfinity = 0x7c00;

inline float half_to_float(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  const uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = static_cast<float>(mantissa) * 0x1.0p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// Rounds to the nearest half, ties to even, as torch's .half() does; too large gives infinity.
inline uint16_t float_to_half(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u;         // NaN
  if (magnitude >= 0x477ff000u) return sign | kHalfInfinity;  // >= 65520 rounds past 65504
  if (magnitude < 0x38800000u) {
    // Below 2^-14 the half is subnormal: a multiple of 2^-24. Scaling by 2^24 is exact, and
    // nearbyint rounds ties to even; 1024 comes out as the smallest normal, correctly.
    const float scaled = std::bit_cast<float>(magnitude) * 0x1.0p24f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  // Normal: drop 13 mantissa bits with ties to even, then rebias the exponent (127 - 15).
  const uint32_t rounded = magnitude + 0xfffu + ((magnitude >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded >> 13) - (112u << 10));
}

}  // namespace lmf::quant
