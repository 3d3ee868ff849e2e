// The AVX2/FMA NF4 kernel pieces (Note [NF4 CPU kernels]). Compiled for any x86-64
// through GCC's target attributes and only used after the CPU said it has AVX2 and FMA;
// elsewhere avx2_kernels() is nullptr.
#include "plugins/quantizer/nf4/nf4_codebook.h"
#include "plugins/quantizer/nf4/nf4_kernel_parts.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LMF_NF4_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace lmf::quant::nf4::detail {

#ifdef LMF_NF4_AVX2
namespace {

// The levels of 8 consecutive weights whose codes are the nibbles of the 4 bytes at
// `bytes`, in element order: byte k holds element 2k in its high nibble.
LMF_NF4_AVX2 inline __m256 levels_of(const uint8_t* bytes) {
  uint32_t word;
  std::memcpy(&word, bytes, sizeof(word));
  // Little-endian: byte k is bits 8k..8k+7 of the word, its high nibble at 8k + 4.
  const __m256i shifts = _mm256_setr_epi32(4, 0, 12, 8, 20, 16, 28, 24);
  const __m256i codes = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(word)), shifts), _mm256_set1_epi32(15));
  // Two 8-entry lookups (permutevar reads the low 3 bits), chosen by the code's bit 3,
  // moved into the sign bit that blendv reads.
  const __m256 low = _mm256_permutevar8x32_ps(_mm256_loadu_ps(kNf4Levels.data()), codes);
  const __m256 high = _mm256_permutevar8x32_ps(_mm256_loadu_ps(kNf4Levels.data() + 8), codes);
  return _mm256_blendv_ps(low, high, _mm256_castsi256_ps(_mm256_slli_epi32(codes, 28)));
}

LMF_NF4_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

// Of one segment (Note [NF4 CPU kernels]): x · level in 8 lanes, plus in *tail the
// elements outside whole groups of 8 (a row starting mid-byte, the segment's end).
LMF_NF4_AVX2 __m256 segment_dot(const uint8_t* packed, int64_t first, int64_t count, const float* x,
                                float* tail) {
  int64_t j = 0;
  if (first % 2 != 0 && count > 0) {  // a row that starts in the low nibble of a byte
    *tail += x[0] * kNf4Levels[code_at(packed, first)];
    j = 1;
  }
  const uint8_t* bytes = packed + (first + j) / 2;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  for (; j + 16 <= count; j += 16, bytes += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), levels_of(bytes), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j + 8), levels_of(bytes + 4), acc1);
  }
  if (j + 8 <= count) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), levels_of(bytes), acc0);
    j += 8;
  }
  for (; j < count; ++j) *tail += x[j] * kNf4Levels[code_at(packed, first + j)];
  return _mm256_add_ps(acc0, acc1);
}

// Each segment's lanes are scaled by its absmax into running lanes, so a row costs one
// horizontal sum. The segments are for_each_segment's, written out: a lambda would not
// inherit this function's target attribute.
LMF_NF4_AVX2 float packed_row_dot(const Nf4View& layer, int64_t row, const float* x) {
  const int64_t begin = row * layer.in_features, end = begin + layer.in_features;
  __m256 total = _mm256_setzero_ps();
  float scalar_total = 0.0f;
  for (int64_t first = begin; first < end;) {
    const int64_t block = first / layer.block_size;
    const int64_t last = std::min(end, (block + 1) * layer.block_size);
    float tail = 0.0f;
    const __m256 lanes = segment_dot(layer.packed, first, last - first, x + (first - begin), &tail);
    const float absmax = layer.absmax[block];
    total = _mm256_fmadd_ps(lanes, _mm256_set1_ps(absmax), total);
    scalar_total += tail * absmax;
    first = last;
  }
  return horizontal_sum(total) + scalar_total;
}

LMF_NF4_AVX2 void dequantize(const uint8_t* packed, int64_t first, int64_t count, float absmax,
                             float* out) {
  int64_t j = 0;
  if (first % 2 != 0 && count > 0) {
    out[0] = kNf4Levels[code_at(packed, first)] * absmax;
    j = 1;
  }
  const uint8_t* bytes = packed + (first + j) / 2;
  const __m256 scale = _mm256_set1_ps(absmax);
  // A product, never fused: the same float as the portable path and bitsandbytes.
  for (; j + 8 <= count; j += 8, bytes += 4)
    _mm256_storeu_ps(out + j, _mm256_mul_ps(levels_of(bytes), scale));
  for (; j < count; ++j) out[j] = kNf4Levels[code_at(packed, first + j)] * absmax;
}

LMF_NF4_AVX2 float dot(const float* a, const float* b, int64_t count) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= count; j += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), acc1);
  }
  float sum = 0.0f;
  for (; j < count; ++j) sum += a[j] * b[j];
  return sum + horizontal_sum(_mm256_add_ps(acc0, acc1));
}

}  // namespace

const SegmentKernels* avx2_kernels() {
  static constexpr SegmentKernels kernels{&packed_row_dot, &dequantize, &dot};
  return &kernels;
}

#else

const SegmentKernels* avx2_kernels() {
  return nullptr;
}

#endif

}  // namespace lmf::quant::nf4::detail
