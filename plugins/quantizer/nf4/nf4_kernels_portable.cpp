// The portable NF4 kernel pieces (Note [NF4 CPU kernels]): plain C++ for any CPU.
#include "plugins/quantizer/nf4/nf4_codebook.h"
#include "plugins/quantizer/nf4/nf4_kernel_parts.h"

namespace lmf::quant::nf4::detail {
namespace {

// Eight independent partial sums fix an order of the float additions that compilers can
// vectorize without -ffast-math (as sdk/examples/int8_rtn's Note [Eight partial sums]).
constexpr int kLanes = 8;

// sum_j x[j] * level(code_at(packed, first + j)), j < count. Not inlined: inlined into
// packed_row_dot's lambda, GCC 12 no longer vectorizes the lanes (7x slower).
[[gnu::noinline]] float packed_dot(const uint8_t* packed, int64_t first, int64_t count,
                                   const float* x) {
  float sum = 0.0f;
  int64_t j = 0;
  if (first % 2 != 0 && count > 0) {  // a row that starts in the low nibble of a byte
    sum += x[0] * kNf4Levels[code_at(packed, first)];
    j = 1;
  }
  float lanes[kLanes] = {};
  const uint8_t* bytes = packed + (first + j) / 2;
  for (; j + kLanes <= count; j += kLanes, bytes += kLanes / 2)
    for (int k = 0; k < kLanes / 2; ++k) {
      lanes[2 * k] += x[j + 2 * k] * kNf4Levels[bytes[k] >> 4];
      lanes[2 * k + 1] += x[j + 2 * k + 1] * kNf4Levels[bytes[k] & 0x0f];
    }
  for (; j < count; ++j) sum += x[j] * kNf4Levels[code_at(packed, first + j)];
  for (float lane : lanes) sum += lane;
  return sum;
}

float packed_row_dot(const Nf4View& layer, int64_t row, const float* x) {
  const int64_t begin = row * layer.in_features;
  float sum = 0.0f;
  for_each_segment(layer, row, [&](int64_t block, int64_t first, int64_t count) {
    sum += layer.absmax[block] * packed_dot(layer.packed, first, count, x + (first - begin));
  });
  return sum;
}

void dequantize(const uint8_t* packed, int64_t first, int64_t count, float absmax, float* out) {
  for (int64_t j = 0; j < count; ++j) out[j] = kNf4Levels[code_at(packed, first + j)] * absmax;
}

float dot(const float* a, const float* b, int64_t count) {
  float lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= count; j += kLanes)
    for (int k = 0; k < kLanes; ++k) lanes[k] += a[j + k] * b[j + k];
  float sum = 0.0f;
  for (; j < count; ++j) sum += a[j] * b[j];
  for (float lane : lanes) sum += lane;
  return sum;
}

}  // namespace

const SegmentKernels& portable_kernels() {
  static constexpr SegmentKernels kernels{&packed_row_dot, &dequantize, &dot};
  return kernels;
}

}  // namespace lmf::quant::nf4::detail
