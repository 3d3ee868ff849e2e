// Note [GPTQ CUDA kernels]
// Batch-1 decode multiplies every weight by one activation vector: the product is bound by
// reading the packed weights, 4.1 bits a weight at 4 bits and group 128, so the kernels
// are built to read each word of qweight once, 16 bytes a lane, in full 128-byte lines.
// qweight [in·bits/32, out] packs 8 inputs of one output column per int32 (4 bits), and
// consecutive columns are consecutive words of a row: a warp reading a row reads 32
// consecutive columns.
//
// matvec, tensor cores (bits 4, x fp16/bf16, groups in order, group_size a multiple of 32):
//   - A warp owns 32 output columns. Per step of 32 inputs, lane (g, c) = (lane/4, lane%4)
//     loads one int4 from packed row 4·step + c at columns 4g … 4g+3: 4 columns × 8 inputs,
//     the warp 4 rows × 128 bytes. These are exactly the A operands of mma.m16n8k16 if the
//     k dimension is permuted: the product sums over k, so any order shared by A and B is
//     right. Lane (g, c) holds k-slots {2c, 2c+1, 2c+8, 2c+9} of rows g and g+8; we let them
//     be inputs {0,4}, {1,5} (first mma) and {2,6}, {3,7} (second) of the lane's word, which
//     is what one AND/OR pulls out of a word as a pair of halves: (w >> 4j) & 0x000F000F
//     holds the nibbles j and j+4, and OR-ing the exponent of 1024 (fp16) or 128 (bf16)
//     makes them 1024 + code exactly. Subtracting 1024 + zero leaves code − zero, an exact
//     small integer in either type. The warp's 32 columns are two 16-row tiles: tile t row
//     g is column 4g + 2t, row g + 8 column 4g + 2t + 1, so a lane's accumulators are its
//     own columns.
//   - B is x, staged per block in shared memory in that permuted order (8 halves of one word
//     in one 16-byte vector); the n dimension (8) is the tokens, zero beyond `tokens`, so 1
//     to 8 tokens cost the same.
//   - The mma sums x·(code − zero) in fp32 over a step; the step's sum is multiplied by the
//     column's fp32 scale into the lane's fp32 totals (a step lies in one group). Weights are
//     never rounded to 16 bits: only the order of fp32 sums differs from the CPU kernels.
//   - Scales (as float) and zeros (as 16-bit 1024/128 + zero) of the block's 128 columns for
//     the groups of a chunk of 32 steps are staged with x; the first batch of weight loads
//     is issued before the staging, so it is in flight meanwhile.
//   - 8 steps (8 int4, 128 bytes a lane) are loaded before any is used.
// matvec, CUDA cores (every other case: 2, 3 and 8 bits, act-order, fp32 x, groups of
// fewer than 32 inputs): one output column a thread, each packed bundle loaded by 32
// consecutive threads (128 bytes), x in fp32 in shared memory, w = scale·(code − zero) in
// fp32 per weight; the group's scale and zero read per bundle, or per input under act-order.
// Both kernels split the input dimension over blocks when the output tiles alone cannot
// fill the device (Llama-8B's o_proj: 32 tiles of 128 columns for 132 multiprocessors):
// each split writes fp32 partial sums; the last block of a tile to finish (an atomic count
// per tile, reset by that block) adds them in split order and writes y, so results do not
// depend on which block finishes first.
// dequantize: a block stages 32 bundles × 32 columns of qweight in shared memory (coalesced
// reads), then each warp writes 32 consecutive bundles of one column (coalesced writes,
// 16 bytes a lane where the row allows).
//
// Status (H100, 2026-11-24, docs/benchmarks.md): correct, not yet bandwidth-bound. The four
// projections of a Llama-8B layer take 86.9 µs at batch 1, 54% of the measured copy
// bandwidth: 1.9× faster than bf16 cuBLAS and 4.5× faster than dequantize-then-cuBLAS;
// gate/up reaches 65%, o_proj 32%. The kernel is bound by latency, not by bytes or by
// instructions: 1 to 8 tokens cost nearly the same, a warp's ~100 instructions a step are far
// under the issue rate, and memory idles while every warp of the device computes its batch of
// 8 steps at the same moment. Keeping 8 loads in flight a lane instead (using step s issues
// step s + 8) was measured and is slower: 148 instructions a step (address and bound
// arithmetic per step), gate/up 47.1 µs instead of 38.6, qkv and o about 1 µs faster. Next:
// fewer instructions a step (addresses advanced by a constant stride, one bound check a
// batch), two batches in flight a warp, more warps resident.
#include "plugins/quantizer/common/gptq_kernels_cuda.h"
#include "plugins/quantizer/common/cuda_dtypes.cuh"

#include "plugins/quantizer/common/gptq_kernel_parts.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace lmf::quant {
namespace {

using detail::Bundle;

// ---- shared pieces -------------------------------------------------------------------

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

[[noreturn]] void refuse(const std::string& what) {
  throw std::invalid_argument(what);
}

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

using cuda::from_float;
using cuda::to_float;

__device__ __forceinline__ void store_value(void* y, DeviceDtype dtype, int64_t i, float v) {
  switch (dtype) {
    case DeviceDtype::f32:
      static_cast<float*>(y)[i] = v;
      break;
    case DeviceDtype::f16:
      static_cast<__half*>(y)[i] = __float2half_rn(v);
      break;
    case DeviceDtype::bf16:
      static_cast<__nv_bfloat16*>(y)[i] = __float2bfloat16_rn(v);
      break;
  }
}

__device__ __forceinline__ float scale_at(const uint16_t* scales, int64_t i) {
  return __half2float(__ushort_as_half(__ldg(scales + i)));
}

// Value j of a bundle held in w (Note [GPTQ checkpoint layout]); j is a constant once the
// caller's loop is unrolled, so the word and the shifts fold away.
template <int Bits>
__device__ __forceinline__ uint32_t bundle_value(const uint32_t (&w)[Bundle<Bits>::kWords], int j) {
  const int offset = Bits * j, word = offset >> 5, shift = offset & 31;
  uint32_t v = w[word] >> shift;
  if (shift + Bits > 32) v |= w[word + 1] << (32 - shift);
  return v & ((1u << Bits) - 1u);
}

// The zero of column o in a row of qzeros: the stored field plus one (Note [GPTQ v1 zeros]).
template <int Bits>
__device__ __forceinline__ float zero_at(const int32_t* row, int64_t o) {
  const int64_t offset = o * Bits, word = offset >> 5;
  const int shift = static_cast<int>(offset & 31);
  uint32_t v = static_cast<uint32_t>(__ldg(row + word)) >> shift;
  if (shift + Bits > 32) v |= static_cast<uint32_t>(__ldg(row + word + 1)) << (32 - shift);
  return static_cast<float>((v & ((1u << Bits) - 1u)) + 1u);
}

// Whether this block is the last of its tile's `splits` blocks to finish; every thread calls
// it after writing its partial sums, which are then visible to the last block. That block
// resets the count for the next call.
__device__ bool last_of_splits(int* counter, int splits) {
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    last = atomicAdd(counter, 1) == splits - 1;
    if (last) *counter = 0;
  }
  __syncthreads();
  if (last) __threadfence();
  return last;
}

struct MatvecParams {
  const int32_t* qweight;
  const int32_t* qzeros;
  const uint16_t* scales;
  const int32_t* g_idx;
  int64_t out, in;
  int64_t group_size;  // groups in order of this many inputs; 0: read g_idx
  const void* x;
  int tokens;
  void* y;
  DeviceDtype y_dtype;
  float* partials;  // [splits, tokens, out]
  int* counters;    // [tiles]
  int splits;
};

// Hands each of a thread's results to y, through the partial sums when the input dimension
// is split. value(f) calls f(token, column, sum) for each result the thread holds; all
// threads of the block must call this.
template <class Values>
__device__ void write_results(const MatvecParams& p, Values&& values) {
  if (p.splits == 1) {
    values([&](int t, int64_t o, float v) { store_value(p.y, p.y_dtype, t * p.out + o, v); });
    return;
  }
  values(
      [&](int t, int64_t o, float v) { p.partials[(blockIdx.y * p.tokens + t) * p.out + o] = v; });
  if (!last_of_splits(p.counters + blockIdx.x, p.splits)) return;
  values([&](int t, int64_t o, float) {
    float sum = 0.f;
    for (int s = 0; s < p.splits; ++s) sum += __ldcg(p.partials + (s * p.tokens + t) * p.out + o);
    store_value(p.y, p.y_dtype, t * p.out + o, sum);
  });
}

// ---- matvec on tensor cores (bits 4) ---------------------------------------------------

constexpr int kMmaWarps = 4;
constexpr int kMmaThreads = 32 * kMmaWarps;
constexpr int kMmaColumns = 32 * kMmaWarps;  // a warp: 32 columns
constexpr int kStepInputs = 32;              // a step: 4 packed rows, one int4 a lane
constexpr int kChunkSteps = 32;              // x and group parameters staged per 1024 inputs
constexpr int kMmaUnroll = 8;                // int4 loads in flight a lane
constexpr int kMinSplitInputs = 128;         // no split shorter than this

template <typename T>
struct Bias;  // 1024 (fp16) or 128 (bf16): OR-ing a 4-bit code into its mantissa adds it
template <>
struct Bias<__half> {
  static constexpr uint32_t kPair = 0x64006400u;
  static constexpr float kValue = 1024.f;
  __device__ static uint16_t bits(float v) { return __half_as_ushort(__float2half_rn(v)); }
};
template <>
struct Bias<__nv_bfloat16> {
  static constexpr uint32_t kPair = 0x43004300u;
  static constexpr float kValue = 128.f;
  __device__ static uint16_t bits(float v) { return __bfloat16_as_ushort(__float2bfloat16_rn(v)); }
};

// Nibbles j and j + 4 of a word shifted right by 4j, as a pair of (bias + code).
template <typename T>
__device__ __forceinline__ uint32_t biased_pair(uint32_t shifted) {
  return (shifted & 0x000F000Fu) | Bias<T>::kPair;
}

// a − b on pairs of T.
template <typename T>
__device__ __forceinline__ uint32_t sub_pair(uint32_t a, uint32_t b) {
  using T2 = std::conditional_t<std::is_same_v<T, __half>, __half2, __nv_bfloat162>;
  T2 x, y;
  memcpy(&x, &a, 4);
  memcpy(&y, &b, 4);
  const T2 r = __hsub2(x, y);
  uint32_t out;
  memcpy(&out, &r, 4);
  return out;
}

template <typename T>
__device__ __forceinline__ void mma_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                          uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<T, __half>) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
#else
  __trap();  // the plan never picks this kernel below compute capability 8.0
#endif
}

// Shared memory of one block for chunks of at most `steps` steps: x (16 bytes a token and
// word, rows padded so that a warp's 16-byte reads hit distinct banks), then the scales
// (float) and biased zeros (16 bits) of the block's columns for the groups a chunk touches.
int64_t mma_shared_bytes(int64_t tokens, int64_t steps, int64_t group_size, int64_t groups) {
  const int64_t words = steps * 4 + 4;
  const int64_t chunk_groups =
      std::min(groups, (steps * kStepInputs + group_size - 1) / group_size + 1);
  return tokens * words * 16 + chunk_groups * kMmaColumns * (4 + 2);
}

template <typename T>
__global__ void __launch_bounds__(kMmaThreads) matvec_int4_mma(MatvecParams p) {
  extern __shared__ uint4 shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, c = lane % 4;  // the mma's groupID and threadID_in_group
  const int64_t tile0 = static_cast<int64_t>(blockIdx.x) * kMmaColumns;
  const int local_col = warp * 32 + 4 * g;  // the lane's 4 columns in the tile
  const int64_t col = tile0 + local_col;
  const bool col_ok = col < p.out;  // out is a multiple of 8: all 4 columns or none
  const int64_t steps = p.in / kStepInputs;
  const int64_t step_begin = steps * blockIdx.y / p.splits;
  const int64_t step_end = steps * (blockIdx.y + 1) / p.splits;
  const int4* qweight = reinterpret_cast<const int4*>(p.qweight);
  const int64_t row_vectors = p.out / 4;
  const T* x = static_cast<const T*>(p.x);

  auto load_batch = [&](int4(&w)[kMmaUnroll], int64_t s0, int64_t end) {
#pragma unroll
    for (int u = 0; u < kMmaUnroll; ++u)
      w[u] = (s0 + u < end && col_ok) ? __ldcs(qweight + ((s0 + u) * 4 + c) * row_vectors + col / 4)
                                      : make_int4(0, 0, 0, 0);
  };

  // total[t][i]: tile t, i = 0, 1 the lane's column col + 2t for tokens 2c, 2c + 1; i = 2, 3
  // column col + 2t + 1 (the mma's accumulator layout).
  float total[2][4] = {};
  for (int64_t chunk = step_begin; chunk < step_end; chunk += kChunkSteps) {
    const int64_t chunk_end = min64(step_end, chunk + kChunkSteps);
    int4 w[kMmaUnroll];
    load_batch(w, chunk, chunk_end);

    const int words = static_cast<int>(chunk_end - chunk) * 4;
    const int padded = words % 8 == 0 ? words + 4 : words;
    const int64_t first_group = chunk * kStepInputs / p.group_size;
    const int groups =
        static_cast<int>((chunk_end * kStepInputs - 1) / p.group_size - first_group + 1);
    uint4* xs = shared;                                                 // [tokens][padded]
    float* scale_s = reinterpret_cast<float*>(xs + p.tokens * padded);  // [groups][kMmaColumns]
    uint16_t* zero_s = reinterpret_cast<uint16_t*>(scale_s + groups * kMmaColumns);
    __syncthreads();  // the previous chunk is done with shared memory
    for (int i = threadIdx.x; i < p.tokens * words; i += kMmaThreads) {
      const int t = i / words, word = i % words;
      const uint4 r = *reinterpret_cast<const uint4*>(x + t * p.in + (chunk * 4 + word) * 8);
      // halves 0..7 of the word in the order the mma reads them: (0,4) (1,5) (2,6) (3,7)
      xs[t * padded + word] =
          make_uint4(__byte_perm(r.x, r.z, 0x5410), __byte_perm(r.x, r.z, 0x7632),
                     __byte_perm(r.y, r.w, 0x5410), __byte_perm(r.y, r.w, 0x7632));
    }
    for (int i = threadIdx.x; i < groups * kMmaColumns; i += kMmaThreads) {
      const int64_t group = first_group + i / kMmaColumns, o = tile0 + i % kMmaColumns;
      float scale = 0.f, zero = 0.f;
      if (o < p.out) {
        scale = scale_at(p.scales, group * p.out + o);
        zero = zero_at<4>(p.qzeros + group * (p.out / 8), o);
      }
      scale_s[i] = scale;
      zero_s[i] = Bias<T>::bits(Bias<T>::kValue + zero);
    }
    __syncthreads();

    // The group of step s, followed without dividing: `group` (relative to first_group) ends
    // before step `group_end`.
    const int64_t steps_per_group = p.group_size / kStepInputs;
    int group = -1;
    int64_t group_end = chunk;
    float4 scale = make_float4(0.f, 0.f, 0.f, 0.f);
    uint32_t zero[4] = {0, 0, 0, 0};  // biased zero pairs of the lane's 4 columns
    for (int64_t s0 = chunk; s0 < chunk_end; s0 += kMmaUnroll) {
      if (s0 != chunk) load_batch(w, s0, chunk_end);
#pragma unroll
      for (int u = 0; u < kMmaUnroll; ++u) {
        const int64_t s = s0 + u;
        if (s >= chunk_end) break;  // the same for the whole block
        if (s == group_end) {
          ++group;
          group_end = (first_group + group + 1) * steps_per_group;
          scale = *reinterpret_cast<const float4*>(scale_s + group * kMmaColumns + local_col);
          const uint2 z = *reinterpret_cast<const uint2*>(zero_s + group * kMmaColumns + local_col);
          zero[0] = (z.x & 0xFFFFu) * 0x10001u;
          zero[1] = (z.x >> 16) * 0x10001u;
          zero[2] = (z.y & 0xFFFFu) * 0x10001u;
          zero[3] = (z.y >> 16) * 0x10001u;
        }
        uint4 b = make_uint4(0, 0, 0, 0);
        if (g < p.tokens) b = xs[g * padded + (s - chunk) * 4 + c];
        const uint32_t word[4] = {static_cast<uint32_t>(w[u].x), static_cast<uint32_t>(w[u].y),
                                  static_cast<uint32_t>(w[u].z), static_cast<uint32_t>(w[u].w)};
#pragma unroll
        for (int t = 0; t < 2; ++t) {
          const uint32_t lo = word[2 * t], hi = word[2 * t + 1];  // rows g and g + 8
          float d[4] = {0.f, 0.f, 0.f, 0.f};
#pragma unroll
          for (int m = 0; m < 2; ++m) {
            const uint32_t a[4] = {sub_pair<T>(biased_pair<T>(lo >> (8 * m)), zero[2 * t]),
                                   sub_pair<T>(biased_pair<T>(hi >> (8 * m)), zero[2 * t + 1]),
                                   sub_pair<T>(biased_pair<T>(lo >> (8 * m + 4)), zero[2 * t]),
                                   sub_pair<T>(biased_pair<T>(hi >> (8 * m + 4)), zero[2 * t + 1])};
            mma_16816<T>(d, a, m == 0 ? b.x : b.z, m == 0 ? b.y : b.w);
          }
          const float s_lo = t == 0 ? scale.x : scale.z, s_hi = t == 0 ? scale.y : scale.w;
          total[t][0] = fmaf(s_lo, d[0], total[t][0]);
          total[t][1] = fmaf(s_lo, d[1], total[t][1]);
          total[t][2] = fmaf(s_hi, d[2], total[t][2]);
          total[t][3] = fmaf(s_hi, d[3], total[t][3]);
        }
      }
    }
  }

  write_results(p, [&](auto&& f) {
#pragma unroll
    for (int t = 0; t < 2; ++t)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int token = 2 * c + (i & 1);
        if (col_ok && token < p.tokens) f(token, col + 2 * t + (i >> 1), total[t][i]);
      }
  });
}

// ---- matvec on CUDA cores (every layout) ------------------------------------------------

constexpr int kGenericThreads = 256;       // one output column a thread
constexpr int kGenericChunkInputs = 1024;  // x staged per 1024 inputs (4 KB a token)

int64_t generic_shared_bytes(int64_t tokens) {
  return tokens * kGenericChunkInputs * 4;
}

template <int Bits, typename TX>
__global__ void __launch_bounds__(kGenericThreads) matvec_generic(MatvecParams p) {
  using B = Bundle<Bits>;
  constexpr int kChunkBundles = kGenericChunkInputs / B::kValues;
  extern __shared__ float xs[];  // [tokens][kGenericChunkInputs]
  const int64_t o = static_cast<int64_t>(blockIdx.x) * kGenericThreads + threadIdx.x;
  const bool ok = o < p.out;
  const int64_t bundles = p.in / B::kValues;
  const int64_t begin = bundles * blockIdx.y / p.splits,
                end = bundles * (blockIdx.y + 1) / p.splits;
  const int64_t zero_words = p.out * Bits / 32;
  // The group is fixed within a bundle when groups are in order and hold whole bundles.
  const bool per_bundle = p.group_size > 0 && p.group_size % B::kValues == 0;
  const TX* x = static_cast<const TX*>(p.x);
  float acc[kGptqMatvecMaxTokens] = {};
  for (int64_t chunk = begin; chunk < end; chunk += kChunkBundles) {
    const int64_t chunk_end = min64(end, chunk + kChunkBundles);
    const int64_t k0 = chunk * B::kValues;
    const int inputs = static_cast<int>((chunk_end - chunk) * B::kValues);
    __syncthreads();  // the previous chunk is done with xs
    for (int i = threadIdx.x; i < p.tokens * inputs; i += kGenericThreads)
      xs[(i / inputs) * kGenericChunkInputs + i % inputs] =
          to_float(x[(i / inputs) * p.in + k0 + i % inputs]);
    __syncthreads();
    if (!ok) continue;
    // With per_bundle, the group of bundle b, followed without dividing: `group` ends before
    // bundle `group_end`.
    int64_t group = 0, group_end = chunk;
    float scale = 0.f, zero = 0.f;
#pragma unroll 2
    for (int64_t b = chunk; b < chunk_end; ++b) {
      uint32_t w[B::kWords];
#pragma unroll
      for (int j = 0; j < B::kWords; ++j)
        w[j] = static_cast<uint32_t>(__ldcs(p.qweight + (b * B::kWords + j) * p.out + o));
      if (per_bundle && b == group_end) {
        const int64_t bundles_per_group = p.group_size / B::kValues;
        group = b / bundles_per_group;
        group_end = (group + 1) * bundles_per_group;
        scale = scale_at(p.scales, group * p.out + o);
        zero = zero_at<Bits>(p.qzeros + group * zero_words, o);
      }
#pragma unroll
      for (int j = 0; j < B::kValues; ++j) {
        const int64_t k = b * B::kValues + j;
        if (!per_bundle) {
          const int64_t g = p.group_size > 0 ? static_cast<int>(k) / static_cast<int>(p.group_size)
                                             : __ldg(p.g_idx + k);
          scale = scale_at(p.scales, g * p.out + o);
          zero = zero_at<Bits>(p.qzeros + g * zero_words, o);
        }
        const float weight = scale * (static_cast<float>(bundle_value<Bits>(w, j)) - zero);
#pragma unroll
        for (int t = 0; t < kGptqMatvecMaxTokens; ++t)
          if (t < p.tokens) acc[t] = fmaf(xs[t * kGenericChunkInputs + (k - k0)], weight, acc[t]);
      }
    }
  }
  write_results(p, [&](auto&& f) {
#pragma unroll
    for (int t = 0; t < kGptqMatvecMaxTokens; ++t)
      if (ok && t < p.tokens) f(t, o, acc[t]);
  });
}

// ---- dequantize ---------------------------------------------------------------------

constexpr int kDqBundles = 32;  // a warp: 32 consecutive bundles of one column
constexpr int kDqColumns = 32;  // a block: 32 columns, read as 128-byte rows
constexpr int kDqThreads = 256;

struct DequantizeParams {
  const int32_t* qweight;
  const int32_t* qzeros;
  const uint16_t* scales;
  const int32_t* g_idx;
  int64_t out, in, group_size;
  void* weight;
  bool vector_stores;  // 16-byte stores: the buffer and its rows are 16-byte aligned
};

template <int Bits, typename T>
__global__ void __launch_bounds__(kDqThreads) dequantize_kernel(DequantizeParams p) {
  using B = Bundle<Bits>;
  __shared__ uint32_t words[kDqBundles * B::kWords][kDqColumns + 1];  // + 1: no bank conflicts
  const int64_t b0 = static_cast<int64_t>(blockIdx.x) * kDqBundles;
  const int64_t o0 = static_cast<int64_t>(blockIdx.y) * kDqColumns;
  const int64_t rows = p.in / B::kValues * B::kWords;
  for (int i = threadIdx.x; i < kDqBundles * B::kWords * kDqColumns; i += kDqThreads) {
    const int r = i / kDqColumns, cc = i % kDqColumns;
    const int64_t row = b0 * B::kWords + r, o = o0 + cc;
    words[r][cc] =
        row < rows && o < p.out ? static_cast<uint32_t>(__ldcs(p.qweight + row * p.out + o)) : 0u;
  }
  __syncthreads();
  const int lane = threadIdx.x % 32;
  const int64_t b = b0 + lane;
  if (b * B::kWords >= rows) return;
  const int64_t zero_words = p.out * Bits / 32;
  const bool per_bundle = p.group_size > 0 && p.group_size % B::kValues == 0;
  T* weight = static_cast<T*>(p.weight);
  for (int cc = threadIdx.x / 32; cc < kDqColumns; cc += kDqThreads / 32) {
    const int64_t o = o0 + cc;
    if (o >= p.out) break;
    uint32_t w[B::kWords];
#pragma unroll
    for (int j = 0; j < B::kWords; ++j) w[j] = words[lane * B::kWords + j][cc];
    float scale = 0.f, zero = 0.f;
    if (per_bundle) {
      const int64_t group = static_cast<int>(b * B::kValues) / static_cast<int>(p.group_size);
      scale = scale_at(p.scales, group * p.out + o);
      zero = zero_at<Bits>(p.qzeros + group * zero_words, o);
    }
    T values[B::kValues];
#pragma unroll
    for (int j = 0; j < B::kValues; ++j) {
      if (!per_bundle) {
        const int k = static_cast<int>(b * B::kValues + j);
        const int64_t group =
            p.group_size > 0 ? k / static_cast<int>(p.group_size) : __ldg(p.g_idx + k);
        scale = scale_at(p.scales, group * p.out + o);
        zero = zero_at<Bits>(p.qzeros + group * zero_words, o);
      }
      // As gptq_dequantize: (code − zero) is exact, one rounding in the product.
      values[j] = from_float<T>(scale * (static_cast<float>(bundle_value<Bits>(w, j)) - zero));
    }
    T* dst = weight + o * p.in + b * B::kValues;
    constexpr int kBytes = B::kValues * static_cast<int>(sizeof(T));
    if constexpr (kBytes % 16 == 0) {
      if (p.vector_stores) {
#pragma unroll
        for (int v = 0; v < kBytes / 16; ++v) {
          uint4 chunk;
          memcpy(&chunk, reinterpret_cast<const char*>(values) + 16 * v, 16);
          reinterpret_cast<uint4*>(dst)[v] = chunk;
        }
        continue;
      }
    }
#pragma unroll
    for (int j = 0; j < B::kValues; ++j) dst[j] = values[j];
  }
}

// ---- host side ------------------------------------------------------------------------

int64_t pack_multiple(int bits) {
  return bits == 3 ? 32 : 32 / bits;
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

std::string shape_of(const GptqView& layer) {
  return std::to_string(layer.bits) + "-bit layer of [out, in] = [" +
         std::to_string(layer.out_features) + ", " + std::to_string(layer.in_features) + "] with " +
         std::to_string(layer.groups) + " groups";
}

void expect_layer(const GptqView& layer, const char* what) {
  if (layer.bits != 2 && layer.bits != 3 && layer.bits != 4 && layer.bits != 8)
    refuse(std::string(what) + ": bits is " + std::to_string(layer.bits) +
           ", expected 2, 3, 4 or 8");
  const int64_t multiple = pack_multiple(layer.bits);
  if (layer.in_features <= 0 || layer.out_features <= 0 || layer.groups <= 0 ||
      layer.in_features % multiple != 0 || layer.out_features % multiple != 0)
    refuse(std::string(what) + ": a " + shape_of(layer) + " cannot be packed");
  if (layer.in_features > 2147483647 / 8)
    refuse(std::string(what) + ": " + std::to_string(layer.in_features) + " inputs, at most " +
           std::to_string(2147483647 / 8));
  if (layer.qweight == nullptr || layer.qzeros == nullptr || layer.scales == nullptr)
    refuse(std::string(what) + ": qweight, qzeros and scales must be device pointers, got null");
  if (layer.sequential_group_size > 0
          ? layer.sequential_group_size * layer.groups != layer.in_features
          : layer.g_idx == nullptr)
    refuse(std::string(what) + ": sequential_group_size " +
           std::to_string(layer.sequential_group_size) + " does not fit the " + shape_of(layer) +
           " (0 with g_idx for any other map)");
}

// The layer's tensors and extents, as both kernels' parameters name them.
template <typename Params>
Params layer_params(const GptqView& layer) {
  Params p{};
  p.qweight = layer.qweight;
  p.qzeros = layer.qzeros;
  p.scales = layer.scales;
  p.g_idx = layer.g_idx;
  p.out = layer.out_features;
  p.in = layer.in_features;
  p.group_size = layer.sequential_group_size;
  return p;
}

MatvecParams matvec_params(const GptqView& layer) { return layer_params<MatvecParams>(layer); }

// The kernel a plan runs, with its block size and shared memory, as the launch and the
// occupancy query both need them.
struct MatvecLaunch {
  const void* kernel = nullptr;
  int threads = 0;
  int64_t columns_per_block = 0;
  int64_t depth = 0;      // units along the input dimension that splits divide
  int64_t min_depth = 1;  // the fewest units a split takes
};

template <typename TX>
const void* generic_kernel(int bits) {
  const void* kernel = nullptr;
  detail::with_bits(bits, [&](auto b) {
    kernel = reinterpret_cast<const void*>(&matvec_generic<decltype(b)::value, TX>);
  });
  return kernel;
}

MatvecLaunch matvec_launch(int bits, int64_t in_features, DeviceDtype x_dtype, bool tensor_cores) {
  MatvecLaunch launch;
  if (tensor_cores) {
    launch.kernel = x_dtype == DeviceDtype::f16
                        ? reinterpret_cast<const void*>(&matvec_int4_mma<__half>)
                        : reinterpret_cast<const void*>(&matvec_int4_mma<__nv_bfloat16>);
    launch.threads = kMmaThreads;
    launch.columns_per_block = kMmaColumns;
    launch.depth = in_features / kStepInputs;
    launch.min_depth = kMinSplitInputs / kStepInputs;
    return launch;
  }
  switch (x_dtype) {
    case DeviceDtype::f32:
      launch.kernel = generic_kernel<float>(bits);
      break;
    case DeviceDtype::f16:
      launch.kernel = generic_kernel<__half>(bits);
      break;
    case DeviceDtype::bf16:
      launch.kernel = generic_kernel<__nv_bfloat16>(bits);
      break;
  }
  const int64_t values = bits == 3 ? 32 : 32 / bits;
  launch.threads = kGenericThreads;
  launch.columns_per_block = kGenericThreads;
  launch.depth = in_features / values;
  launch.min_depth = std::max<int64_t>(1, kMinSplitInputs / values);
  return launch;
}

int64_t matvec_shared_bytes(const GptqMatvecPlan& plan) {
  if (!plan.tensor_cores) return generic_shared_bytes(plan.tokens);
  const int64_t steps = plan.in_features / kStepInputs;
  const int64_t longest = std::min<int64_t>(kChunkSteps, (steps + plan.splits - 1) / plan.splits);
  return mma_shared_bytes(plan.tokens, longest, plan.sequential_group_size, plan.groups);
}

template <int Bits, typename T>
void launch_dequantize(const DequantizeParams& p, cudaStream_t stream) {
  using B = Bundle<Bits>;
  const int64_t bundles = p.in / B::kValues;
  const dim3 grid(static_cast<unsigned>((bundles + kDqBundles - 1) / kDqBundles),
                  static_cast<unsigned>((p.out + kDqColumns - 1) / kDqColumns));
  dequantize_kernel<Bits, T><<<grid, kDqThreads, 0, stream>>>(p);
}

}  // namespace

bool gptq_cuda_kernels_compiled() {
  return true;
}

void gptq_dequantize_cuda(const GptqView& layer, DeviceDtype dtype, void* weight, void* stream) {
  expect_layer(layer, "gptq_dequantize_cuda");
  if (weight == nullptr) refuse("gptq_dequantize_cuda: weight is null");
  if ((layer.out_features + kDqColumns - 1) / kDqColumns > 65535)
    refuse("gptq_dequantize_cuda: " + std::to_string(layer.out_features) +
           " output columns, at most " + std::to_string(65535 * kDqColumns));
  DequantizeParams p = layer_params<DequantizeParams>(layer);
  p.weight = weight;
  const int64_t element = dtype == DeviceDtype::f32 ? 4 : 2;
  p.vector_stores = aligned16(weight) && layer.in_features * element % 16 == 0;
  const auto s = static_cast<cudaStream_t>(stream);
  detail::with_bits(layer.bits, [&](auto bits) {
    constexpr int kBits = decltype(bits)::value;
    switch (dtype) {
      case DeviceDtype::f32:
        launch_dequantize<kBits, float>(p, s);
        break;
      case DeviceDtype::f16:
        launch_dequantize<kBits, __half>(p, s);
        break;
      case DeviceDtype::bf16:
        launch_dequantize<kBits, __nv_bfloat16>(p, s);
        break;
    }
  });
  check(cudaGetLastError(), "gptq_dequantize_cuda");
}

GptqMatvecPlan gptq_matvec_plan(const GptqView& layer, DeviceDtype x_dtype, int64_t tokens,
                                MatvecKernel kernel, int splits) {
  expect_layer(layer, "gptq_matvec_plan");
  if (tokens < 1 || tokens > kGptqMatvecMaxTokens)
    refuse("gptq_matvec_plan: " + std::to_string(tokens) + " tokens, expected 1 to " +
           std::to_string(kGptqMatvecMaxTokens));
  if (splits < 0)
    refuse("gptq_matvec_plan: splits is " + std::to_string(splits) + ", expected 0 (auto) or more");
  int device = 0, multiprocessors = 0, major = 0;
  check(cudaGetDevice(&device), "gptq_matvec_plan: cudaGetDevice");
  check(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device),
        "gptq_matvec_plan");
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device),
        "gptq_matvec_plan");

  GptqMatvecPlan plan;
  plan.bits = layer.bits;
  plan.out_features = layer.out_features;
  plan.in_features = layer.in_features;
  plan.groups = layer.groups;
  plan.sequential_group_size = layer.sequential_group_size;
  plan.x_dtype = x_dtype;
  plan.tokens = tokens;
  plan.tensor_cores = kernel == MatvecKernel::kAuto && layer.bits == 4 &&
                      x_dtype != DeviceDtype::f32 && layer.sequential_group_size > 0 &&
                      layer.sequential_group_size % kStepInputs == 0 && aligned16(layer.qweight) &&
                      major >= 8;
  const MatvecLaunch launch =
      matvec_launch(layer.bits, layer.in_features, x_dtype, plan.tensor_cores);
  const int64_t tiles =
      (layer.out_features + launch.columns_per_block - 1) / launch.columns_per_block;
  if (tiles > 2147483647) refuse("gptq_matvec_plan: too many output columns: " + shape_of(layer));
  if (splits == 0) {
    // Enough blocks to fill the device once: more splits add partial sums to write and read,
    // fewer leave multiprocessors idle.
    plan.splits = 1;
    const int64_t max_shared =
        plan.tensor_cores
            ? mma_shared_bytes(tokens, kChunkSteps, plan.sequential_group_size, plan.groups)
            : generic_shared_bytes(tokens);
    int resident = 0;
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, launch.kernel, launch.threads,
                                                        static_cast<size_t>(max_shared)),
          "gptq_matvec_plan: occupancy");
    const int64_t wanted = static_cast<int64_t>(multiprocessors) * std::max(1, resident) / tiles;
    plan.splits = static_cast<int>(
        std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, launch.depth / launch.min_depth)));
  } else {
    plan.splits = static_cast<int>(std::min<int64_t>(splits, launch.depth));
  }
  plan.splits = std::min(plan.splits, 65535);
  if (plan.splits > 1) {
    plan.workspace_floats = plan.splits * tokens * layer.out_features;
    plan.counters = tiles;
  }
  return plan;
}

void gptq_matvec_cuda(const GptqView& layer, const GptqMatvecPlan& plan, const GptqMatvecArgs& args,
                      void* stream) {
  expect_layer(layer, "gptq_matvec_cuda");
  if (plan.bits != layer.bits || plan.out_features != layer.out_features ||
      plan.in_features != layer.in_features || plan.groups != layer.groups ||
      plan.sequential_group_size != layer.sequential_group_size)
    refuse("gptq_matvec_cuda: the plan was made for another layer shape than the " +
           shape_of(layer));
  if (plan.tokens < 1 || plan.tokens > kGptqMatvecMaxTokens || plan.splits < 1)
    refuse("gptq_matvec_cuda: the plan has " + std::to_string(plan.tokens) + " tokens and " +
           std::to_string(plan.splits) + " splits; make it with gptq_matvec_plan");
  if (args.x == nullptr || args.y == nullptr)
    refuse("gptq_matvec_cuda: x and y must be device pointers, got null");
  if (plan.splits > 1 && (args.workspace == nullptr || args.counters == nullptr))
    refuse("gptq_matvec_cuda: the plan splits the input dimension " + std::to_string(plan.splits) +
           " ways: it needs a workspace of " + std::to_string(plan.workspace_floats) +
           " floats and " + std::to_string(plan.counters) + " counters");
  if (plan.tensor_cores && (!aligned16(args.x) || !aligned16(layer.qweight)))
    refuse(
        "gptq_matvec_cuda: the tensor-core kernel reads x and qweight 16 bytes at a time; they "
        "must be "
        "16-byte aligned");

  const MatvecLaunch launch =
      matvec_launch(plan.bits, plan.in_features, plan.x_dtype, plan.tensor_cores);
  MatvecParams p = matvec_params(layer);
  p.x = args.x;
  p.tokens = static_cast<int>(plan.tokens);
  p.y = args.y;
  p.y_dtype = args.y_dtype;
  p.partials = args.workspace;
  p.counters = args.counters;
  p.splits = plan.splits;
  const int64_t tiles =
      (plan.out_features + launch.columns_per_block - 1) / launch.columns_per_block;
  const dim3 grid(static_cast<unsigned>(tiles), static_cast<unsigned>(plan.splits));
  void* kernel_args[] = {&p};
  check(cudaLaunchKernel(launch.kernel, grid, dim3(static_cast<unsigned>(launch.threads)),
                         kernel_args, static_cast<size_t>(matvec_shared_bytes(plan)),
                         static_cast<cudaStream_t>(stream)),
        "gptq_matvec_cuda");
}

}  // namespace lmf::quant
