// The pieces the NF4 kernels are built from, one set per instruction set (Note [NF4 CPU
// kernels]). Internal to nf4_kernels*.cpp.
#pragma once

#include "plugins/quantizer/nf4/nf4_kernels.h"

#include <algorithm>
#include <cstdint>

namespace lmf::quant::nf4::detail {

// The code of flat element `i` of the packed weight.
inline uint8_t code_at(const uint8_t* packed, int64_t i) {
  return static_cast<uint8_t>(i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0x0f);
}

// Calls f(block, first, count) for the runs of row `row` that lie in one block: flat
// elements [first, first + count) of block `block` (Note [NF4 CPU kernels]).
template <class F>
void for_each_segment(const Nf4View& layer, int64_t row, F&& f) {
  const int64_t begin = row * layer.in_features, end = begin + layer.in_features;
  for (int64_t first = begin; first < end;) {
    const int64_t block = first / layer.block_size;
    const int64_t last = std::min(end, (block + 1) * layer.block_size);
    f(block, first, last - first);
    first = last;
  }
}

struct SegmentKernels {
  // sum_i x[i] * w[row, i], straight from the packed codes: per segment, the sum of
  // x * level times the segment's absmax.
  float (*packed_row_dot)(const Nf4View& layer, int64_t row, const float* x);
  // out[j] = level(code_at(packed, first + j)) * absmax, j < count.
  void (*dequantize)(const uint8_t* packed, int64_t first, int64_t count, float absmax, float* out);
  // sum_j a[j] * b[j], j < count.
  float (*dot)(const float* a, const float* b, int64_t count);
};

const SegmentKernels& portable_kernels();
// nullptr unless this build has the AVX2 code; whether the CPU runs it is asked separately.
const SegmentKernels* avx2_kernels();

}  // namespace lmf::quant::nf4::detail
