// Note [GPTQ CUDA kernels]
// Batch-1 decode multiplies every weight by one activation vector: the product is bound by
// reading the packed weights, 4.1 bits a weight at 4 bits and group 128, so the kernels
// are built to read each word of qweight once, 16 bytes a lane, in full 128-byte lines.
// qweight [in·bits/32, out] packs 8 inputs of one output column per int32 (4 bits), and
// consecutive columns are consecutive words of a row: a warp reading a row reads 32
// consecutive columns.
//
// matvec, tensor cores (bits 4, x fp16/bf16, groups in order, group_size a multiple of 32):
//   - A warp owns a strip of 32 output columns. Per step of 32 inputs, lane (g, c) =
//     (lane/4, lane%4) loads one int4 from packed row 4·step + c at columns 4g … 4g+3:
//     4 columns × 8 inputs, the warp 4 rows × 128 bytes. These are exactly the A operands of
//     mma.m16n8k16 if the k dimension is permuted: the product sums over k, so any order
//     shared by A and B is right. Lane (g, c) holds k-slots {2c, 2c+1, 2c+8, 2c+9} of rows g
//     and g+8; we let them be inputs {0,4}, {1,5} (first mma) and {2,6}, {3,7} (second) of
//     the lane's word, which is what one AND/OR pulls out of a word as a pair of halves:
//     (w >> 4j) & 0x000F000F holds the nibbles j and j+4, and OR-ing the exponent of 1024
//     (fp16) or 128 (bf16) makes them 1024 + code exactly. Subtracting 1024 + zero leaves
//     code − zero, an exact small integer in either type. The warp's 32 columns are two
//     16-row tiles: tile t row g is column 4g + 2t, row g + 8 column 4g + 2t + 1, so a lane's
//     accumulators are its own columns.
//   - B is x, staged per block in shared memory in that permuted order (8 halves of one word
//     in one 16-byte vector); the n dimension (8) is the tokens, zero beyond `tokens`, so 1
//     to 8 tokens cost nearly the same.
//   - The mma sums x·(code − zero) in fp32 over the steps of a group; at the group's end that
//     sum is multiplied by the column's fp32 scale into the lane's fp32 totals. Weights are
//     never rounded to 16 bits: only the order of fp32 sums differs from the CPU kernels.
//   - A block is `warps` warps (4, 8 or 16), `slices` of them on each strip: each slice takes
//     a contiguous part of the block's inputs, and at the end the slices' totals meet in
//     shared memory and are added in slice order (no second kernel, no atomics, the same
//     result every call). The block stages x and the scales (float) and zeros (16-bit
//     1024/128 + zero) of its columns for its whole share of the inputs once, then runs with
//     no barrier until that sum.
//   - Loads in flight (as Note [Loads in flight] of the decode kernels): each lane keeps
//     `loads` (4 or 8) 16-byte loads of qweight in flight; the load of step s + loads is
//     issued as soon as step s's words are read, from a pointer advanced by a constant
//     stride and with no bound to check while 2·loads steps or more remain (the ring is
//     unrolled, so the loads stay in registers). The first loads go out before the staging.
//     (An earlier ring with an address and a bound check a step ran at 148 instructions a
//     step and lost to batches of 8 loads.)
//   - Overlapped launches (GptqMatvecArgs::overlap_previous, compute capability 9.0): the
//     kernel reads qweight, scales and qzeros before waiting for the kernel before it
//     (griddepcontrol), x and y only after, and lets the next kernel start once all of its
//     blocks run: the next call's first loads and staging overlap this call's tail.
//   - The plan (choose_block), from a sweep of every block, load count and split count on
//     the H100 (bench/quantizer/int4_matvec_kernel_bench.cu, docs/benchmarks.md): the input
//     dimension is not split over blocks, slices are the fewest (a power of two, at most 16,
//     at least 2 steps a warp) that give 11 warps a multiprocessor over the device, the
//     block is the largest that still gives every multiprocessor a block, and a lane keeps
//     8 loads in flight where its warp has 48 steps or more, else 4. Llama-8B: q/k/v 8 warps
//     in 8 slices, o and down 16 in 16, gate/up 8 in 2 (4 strips). Splits over blocks were
//     slower on every shape (more blocks staging x, partial sums through memory), twice as
//     many warps too except on gate/up (within 2%), and half as many leave too few loads in
//     flight.
// matvec, CUDA cores (every other case: 2, 3 and 8 bits, act-order, fp32 x, groups of
// fewer than 32 inputs): one output column a thread, each packed bundle loaded by 32
// consecutive threads (128 bytes), x in fp32 in shared memory, w = scale·(code − zero) in
// fp32 per weight; the group's scale and zero read per bundle, or per input under act-order.
// It splits the input dimension over blocks when its 256-column tiles alone cannot fill the
// device (the tensor-core kernel does where a split count is asked for, or where a block
// would not fit x in shared memory): each split writes fp32 partial sums; the last block
// of a tile to finish (an atomic count per tile, reset by that block) adds them in split
// order and writes y, so results do not depend on which block finishes first.
// dequantize: a block stages 32 bundles × 32 columns of qweight in shared memory (coalesced
// reads), then each warp writes 32 consecutive bundles of one column (coalesced writes,
// 16 bytes a lane where the row allows).
//
// Status (H100, 2026-11-24, docs/benchmarks.md): the four projections of a Llama-8B layer
// take 57.3 µs at batch 1 with overlapped launches, 81% of the measured copy bandwidth
// (66.0 µs, 71%, launched plainly; 86.9 µs, 54%, before this design): gate/up 94%, down
// 83%, q/k/v 62%, o 53%. The two small projections (8.7 and 13.1 MB, 3–5 µs of transfer)
// are bound by what every call costs whatever its size: the launch, the first round trip
// to memory and the last block's end. Staging with cp.async instead of loads into
// registers was measured once and was 1–2.5 µs slower on every shape.
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
  int slices;  // tensor cores: warps of a block on one 32-column strip
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

constexpr int kStepInputs = 32;       // a step: 4 packed rows, one int4 a lane
constexpr int kMinSplitInputs = 128;  // no split of the CUDA-core kernel shorter than this

// Note [Overlapped launches] of the decode kernels (plugins/backend/torch/kernels/
// decode_kernels.cu): launched with programmatic stream serialization (GptqMatvecArgs::
// overlap_previous), the tensor-core kernel may start while the kernel before it in the
// stream is still running; it reads only the layer's fixed tensors before waiting for that
// kernel, and lets the next one start as soon as all of its blocks are running. Without the
// launch attribute both are no-ops.
__device__ __forceinline__ void allow_next_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
#endif
}

__device__ __forceinline__ void wait_for_previous_kernel() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// 16 bytes of qweight, read once a call: past L1, so that x and the staged group parameters
// stay there.
__device__ __forceinline__ int4 load_streaming(const int4* p) {
  int4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.s32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

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

// The steps of the longest share of the input dimension when it is split `splits` ways.
int64_t longest_share(int64_t in_features, int64_t splits) {
  return (in_features / kStepInputs + splits - 1) / splits;
}

// Shared memory of one block of `warps` warps, `slices` of them on each 32-column strip,
// whose share of the input dimension is at most `steps` steps: x in the mma's order (16 bytes
// a token and word, rows padded so that a warp's 16-byte reads hit distinct banks), then the
// scales (float) and biased zeros (16 bits) of the block's columns for every group the share
// touches. Once the products are done the same memory holds the slices' sums (8 floats a
// lane).
int64_t mma_shared_bytes(int64_t tokens, int64_t steps, int64_t steps_per_group, int64_t groups,
                         int warps, int slices) {
  const int64_t words = steps * 4 + 4;
  const int64_t touched = std::min(groups, (std::max<int64_t>(steps, 1) - 1) / steps_per_group + 2);
  const int64_t columns = 32 * (warps / slices);
  return std::max(tokens * words * 16 + touched * columns * (4 + 2), int64_t{warps} * 32 * 8 * 4);
}

// A block of kWarps warps owns 32·kWarps/slices output columns (a 32-column strip for each
// `slices` warps) and a share of the input dimension (blockIdx.y of p.splits); the `slices`
// warps of a strip each take a part of that share, and their sums meet in shared memory.
// Each lane keeps kLoads 16-byte loads of qweight in flight: the load of step s + kLoads is
// issued as soon as step s's words are read (Note [GPTQ CUDA kernels]).
template <typename T, int kWarps, int kLoads>
__global__ void __launch_bounds__(32 * kWarps) matvec_int4_mma(MatvecParams p) {
  extern __shared__ uint4 shared[];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, c = lane % 4;  // the mma's groupID and threadID_in_group
  const int slices = p.slices, strip = warp / slices, slice = warp % slices;
  const int block_columns = 32 * (kWarps / slices);
  const int64_t tile0 = static_cast<int64_t>(blockIdx.x) * block_columns;
  const int local_col = strip * 32 + 4 * g;  // the lane's 4 columns in the block's
  const int64_t col = tile0 + local_col;
  const bool col_ok = col < p.out;  // out is a multiple of 8: all 4 columns or none
  const int64_t steps = p.in / kStepInputs;
  // (no 64-bit division before the first loads when the input dimension is not split)
  const int64_t block_begin = p.splits == 1 ? 0 : steps * blockIdx.y / p.splits;
  const int block_steps = static_cast<int>(
      p.splits == 1 ? steps : steps * (blockIdx.y + 1) / p.splits - block_begin);
  const int begin = block_steps * slice / slices;  // the warp's steps, from block_begin
  const int count = block_steps * (slice + 1) / slices - begin;

  // The first kLoads loads go out before anything else. Lanes past `out` read column 0 and
  // drop what they compute.
  const int64_t row_vectors = p.out / 4, step_vectors = 4 * row_vectors;
  const int4* next = reinterpret_cast<const int4*>(p.qweight) +
                     ((block_begin + begin) * 4 + c) * row_vectors + (col_ok ? col / 4 : 0);
  int4 w[kLoads];
#pragma unroll
  for (int u = 0; u < kLoads; ++u) {
    if (u < count) {
      w[u] = load_streaming(next);
      next += step_vectors;
    }
  }
  allow_next_kernel();

  // Staged once for the block's share: the scales and zeros of its columns for the groups
  // the share touches (the layer's fixed tensors, read before waiting for the previous
  // kernel), then x.
  const int steps_per_group = static_cast<int>(p.group_size / kStepInputs);
  const int64_t first_group = block_begin / steps_per_group;
  const int groups =
      block_steps > 0
          ? static_cast<int>((block_begin + block_steps - 1) / steps_per_group - first_group + 1)
          : 0;
  const int words = block_steps * 4;
  const int padded = words % 8 == 0 ? words + 4 : words;
  uint4* xs = shared;                                                 // [tokens][padded]
  float* scale_s = reinterpret_cast<float*>(xs + p.tokens * padded);  // [groups][block_columns]
  uint16_t* zero_s = reinterpret_cast<uint16_t*>(scale_s + groups * block_columns);
  const int quads = block_columns / 4;
  for (int i = threadIdx.x; i < groups * quads; i += 32 * kWarps) {
    const int group = i / quads, c4 = i % quads * 4;
    const int64_t o = tile0 + c4, row = first_group + group;
    float4 scale = make_float4(0.f, 0.f, 0.f, 0.f);
    uint32_t fields = 0;  // the 4 columns' stored zeros, 4 bits each
    if (o < p.out) {
      scale = make_float4(scale_at(p.scales, row * p.out + o), scale_at(p.scales, row * p.out + o + 1),
                          scale_at(p.scales, row * p.out + o + 2),
                          scale_at(p.scales, row * p.out + o + 3));
      fields = static_cast<uint32_t>(__ldg(p.qzeros + row * (p.out / 8) + o / 8)) >> (o % 8 * 4);
    }
    *reinterpret_cast<float4*>(scale_s + group * block_columns + c4) = scale;
    uint16_t zero[4];
#pragma unroll
    for (int j = 0; j < 4; ++j)  // the zero is the stored field plus one (Note [GPTQ v1 zeros])
      zero[j] = Bias<T>::bits(Bias<T>::kValue + static_cast<float>(((fields >> (4 * j)) & 15u) + 1u));
    uint2 packed;
    memcpy(&packed, zero, 8);
    *reinterpret_cast<uint2*>(zero_s + group * block_columns + c4) = packed;
  }
  wait_for_previous_kernel();
  const T* x = static_cast<const T*>(p.x);
  for (int i = threadIdx.x; i < p.tokens * words; i += 32 * kWarps) {
    const int t = i / words, word = i % words;
    const uint4 r = *reinterpret_cast<const uint4*>(x + t * p.in + (block_begin * 4 + word) * 8);
    // halves 0..7 of the word in the order the mma reads them: (0,4) (1,5) (2,6) (3,7)
    xs[t * padded + word] =
        make_uint4(__byte_perm(r.x, r.z, 0x5410), __byte_perm(r.x, r.z, 0x7632),
                   __byte_perm(r.y, r.w, 0x5410), __byte_perm(r.y, r.w, 0x7632));
  }
  __syncthreads();

  // The group of the next step, followed without dividing: `left` steps of `group`
  // (relative to first_group) remain.
  const bool has_token = g < p.tokens;
  const uint4* xw = xs + (has_token ? g : 0) * padded + begin * 4 + c;
  int group = static_cast<int>((block_begin + begin) / steps_per_group - first_group);
  int left = steps_per_group - static_cast<int>((block_begin + begin) % steps_per_group);
  float4 scale = make_float4(0.f, 0.f, 0.f, 0.f);
  uint32_t zero[4] = {0, 0, 0, 0};  // biased zero pairs of the lane's 4 columns
  auto load_group = [&] {
    scale = *reinterpret_cast<const float4*>(scale_s + group * block_columns + local_col);
    const uint2 z = *reinterpret_cast<const uint2*>(zero_s + group * block_columns + local_col);
    zero[0] = (z.x & 0xFFFFu) * 0x10001u;
    zero[1] = (z.x >> 16) * 0x10001u;
    zero[2] = (z.y & 0xFFFFu) * 0x10001u;
    zero[3] = (z.y >> 16) * 0x10001u;
  };
  if (count > 0) load_group();

  // sum[t][i]: the current group's x·(code − zero), tile t, i = 0, 1 the lane's column
  // col + 2t for tokens 2c, 2c + 1, i = 2, 3 column col + 2t + 1 (the mma's accumulator
  // layout); total: the groups' sums times their scales.
  float sum[2][4] = {}, total[2][4] = {};
  auto flush = [&] {
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const float s_lo = t == 0 ? scale.x : scale.z, s_hi = t == 0 ? scale.y : scale.w;
      total[t][0] = fmaf(s_lo, sum[t][0], total[t][0]);
      total[t][1] = fmaf(s_lo, sum[t][1], total[t][1]);
      total[t][2] = fmaf(s_hi, sum[t][2], total[t][2]);
      total[t][3] = fmaf(s_hi, sum[t][3], total[t][3]);
#pragma unroll
      for (int i = 0; i < 4; ++i) sum[t][i] = 0.f;
    }
  };
  auto consume = [&](const int4& v) {
    const uint4 b = has_token ? *xw : make_uint4(0, 0, 0, 0);
    xw += 4;
    const uint32_t word[4] = {static_cast<uint32_t>(v.x), static_cast<uint32_t>(v.y),
                              static_cast<uint32_t>(v.z), static_cast<uint32_t>(v.w)};
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const uint32_t lo = word[2 * t], hi = word[2 * t + 1];  // rows g and g + 8
#pragma unroll
      for (int m = 0; m < 2; ++m) {
        const uint32_t a[4] = {sub_pair<T>(biased_pair<T>(lo >> (8 * m)), zero[2 * t]),
                               sub_pair<T>(biased_pair<T>(hi >> (8 * m)), zero[2 * t + 1]),
                               sub_pair<T>(biased_pair<T>(lo >> (8 * m + 4)), zero[2 * t]),
                               sub_pair<T>(biased_pair<T>(hi >> (8 * m + 4)), zero[2 * t + 1])};
        mma_16816<T>(sum[t], a, m == 0 ? b.x : b.z, m == 0 ? b.y : b.w);
      }
    }
    if (--left == 0) {
      flush();
      left = steps_per_group;
      if (++group < groups) load_group();
    }
  };

  // While 2·kLoads steps or more remain, every step's load is replaced at once by the load
  // kLoads steps ahead, with no bound to check; then the last loads, then the rest.
  int done = 0;
  for (; done + 2 * kLoads <= count; done += kLoads) {
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      consume(w[u]);
      w[u] = load_streaming(next);
      next += step_vectors;
    }
  }
#pragma unroll
  for (int u = 0; u < kLoads; ++u) {
    if (done + u < count) {
      consume(w[u]);
      if (done + kLoads + u < count) {
        w[u] = load_streaming(next);
        next += step_vectors;
      }
    }
  }
#pragma unroll
  for (int u = 0; u < kLoads; ++u)
    if (done + kLoads + u < count) consume(w[u]);
  if (left != steps_per_group) flush();

  // The strip's slices add up in a fixed order: the first slice's warp holds the sums.
  if (slices > 1) {
    __syncthreads();  // every warp is done with xs
    float* sums = reinterpret_cast<float*>(shared);  // [kWarps][8][32]
    if (slice > 0)
#pragma unroll
      for (int j = 0; j < 8; ++j) sums[(warp * 8 + j) * 32 + lane] = total[j / 4][j % 4];
    __syncthreads();
    if (slice == 0)
      for (int s = 1; s < slices; ++s)
#pragma unroll
        for (int j = 0; j < 8; ++j) total[j / 4][j % 4] += sums[((warp + s) * 8 + j) * 32 + lane];
  }

  write_results(p, [&](auto&& f) {
    if (slice != 0 || !col_ok) return;
#pragma unroll
    for (int t = 0; t < 2; ++t)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int token = 2 * c + (i & 1);
        if (token < p.tokens) f(token, col + 2 * t + (i >> 1), total[t][i]);
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

// The kernel a plan runs, with its block size, as the launch and the occupancy query both
// need them.
struct MatvecLaunch {
  const void* kernel = nullptr;
  int threads = 0;
  int64_t columns_per_block = 0;
};

template <typename TX>
const void* generic_kernel(int bits) {
  const void* kernel = nullptr;
  detail::with_bits(bits, [&](auto b) {
    kernel = reinterpret_cast<const void*>(&matvec_generic<decltype(b)::value, TX>);
  });
  return kernel;
}

// The tensor-core kernel for blocks of 4, 8 or 16 warps and 4 or 8 loads in flight a lane
// (null for any other).
template <typename T>
const void* mma_kernel(int warps, int loads) {
  const void* kernel = nullptr;
  auto pick = [&](auto w, auto l) {
    if (warps == decltype(w)::value && loads == decltype(l)::value)
      kernel = reinterpret_cast<const void*>(&matvec_int4_mma<T, decltype(w)::value, decltype(l)::value>);
  };
  auto for_loads = [&](auto w) {
    pick(w, std::integral_constant<int, 4>{});
    pick(w, std::integral_constant<int, 8>{});
  };
  for_loads(std::integral_constant<int, 4>{});
  for_loads(std::integral_constant<int, 8>{});
  for_loads(std::integral_constant<int, 16>{});
  return kernel;
}

MatvecLaunch matvec_launch(const GptqMatvecPlan& plan) {
  MatvecLaunch launch;
  if (plan.tensor_cores) {
    launch.kernel = plan.x_dtype == DeviceDtype::f16 ? mma_kernel<__half>(plan.warps, plan.loads)
                                                     : mma_kernel<__nv_bfloat16>(plan.warps, plan.loads);
    launch.threads = 32 * plan.warps;
    launch.columns_per_block = 32 * plan.warps / plan.slices;
    return launch;
  }
  switch (plan.x_dtype) {
    case DeviceDtype::f32:
      launch.kernel = generic_kernel<float>(plan.bits);
      break;
    case DeviceDtype::f16:
      launch.kernel = generic_kernel<__half>(plan.bits);
      break;
    case DeviceDtype::bf16:
      launch.kernel = generic_kernel<__nv_bfloat16>(plan.bits);
      break;
  }
  launch.threads = kGenericThreads;
  launch.columns_per_block = kGenericThreads;
  return launch;
}

int64_t matvec_shared_bytes(const GptqMatvecPlan& plan) {
  if (!plan.tensor_cores) return generic_shared_bytes(plan.tokens);
  return mma_shared_bytes(plan.tokens, longest_share(plan.in_features, plan.splits),
                          plan.sequential_group_size / kStepInputs, plan.groups, plan.warps,
                          plan.slices);
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

namespace {

struct DeviceFacts {
  int multiprocessors = 0, major = 0;
  int64_t shared_optin = 0;  // the most shared memory a block may ask for
};

DeviceFacts device_facts(const char* what) {
  int device = 0, multiprocessors = 0, major = 0, optin = 0;
  check(cudaGetDevice(&device), what);
  check(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device), what);
  check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), what);
  check(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), what);
  return {multiprocessors, major, optin};
}

// Blocks of the plan's kernel a multiprocessor holds at once (0: it cannot run). Lets the
// kernel ask for more than the default 48 KB of shared memory where the plan needs it.
int resident_blocks(const GptqMatvecPlan& plan, const DeviceFacts& device) {
  const MatvecLaunch launch = matvec_launch(plan);
  const int64_t shared = matvec_shared_bytes(plan);
  cudaFuncAttributes attributes{};
  check(cudaFuncGetAttributes(&attributes, launch.kernel), "gptq_matvec_plan: kernel attributes");
  if (shared + static_cast<int64_t>(attributes.sharedSizeBytes) > device.shared_optin) return 0;
  if (shared > attributes.maxDynamicSharedSizeBytes)
    check(cudaFuncSetAttribute(launch.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(device.shared_optin) -
                                   static_cast<int>(attributes.sharedSizeBytes)),
          "gptq_matvec_plan: shared memory");
  int resident = 0;
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&resident, launch.kernel, launch.threads,
                                                      static_cast<size_t>(shared)),
        "gptq_matvec_plan: occupancy");
  return resident;
}

int64_t tiles_of(const GptqMatvecPlan& plan) {
  const MatvecLaunch launch = matvec_launch(plan);
  return (plan.out_features + launch.columns_per_block - 1) / launch.columns_per_block;
}

// The splits' workspace.
void size_workspace(GptqMatvecPlan& plan) {
  plan.workspace_floats = 0;
  plan.counters = 0;
  if (plan.splits > 1) {
    plan.workspace_floats = plan.splits * plan.tokens * plan.out_features;
    plan.counters = tiles_of(plan);
  }
}

// A tensor-core plan with the block and splits given (bench/quantizer/
// int4_matvec_kernel_bench.cu sweeps them); resident_blocks says whether it can run.
GptqMatvecPlan with_block(GptqMatvecPlan plan, int warps, int slices, int loads, int splits) {
  plan.warps = warps;
  plan.slices = slices;
  plan.loads = loads;
  plan.splits = static_cast<int>(std::clamp<int64_t>(splits, 1, std::min<int64_t>(
                                                                    65535, plan.in_features / kStepInputs)));
  size_workspace(plan);
  return plan;
}

// Note [GPTQ CUDA kernels]: the block for a shape, with the splits given or one split.
GptqMatvecPlan choose_block(const GptqMatvecPlan& base, int splits, const DeviceFacts& device) {
  const int64_t strips = (base.out_features + 31) / 32, steps = base.in_features / kStepInputs;
  const int64_t multiprocessors = device.multiprocessors;
  int slices = 1;
  while (slices < 16 && strips * slices < 11 * multiprocessors && steps >= 4 * slices) slices *= 2;
  int warps = std::max(4, slices);  // where no block gives every multiprocessor one: the most blocks
  for (int candidate : {16, 8, 4}) {
    if (candidate < slices) break;
    const int strips_per_block = candidate / slices;
    if ((strips + strips_per_block - 1) / strips_per_block >= multiprocessors) {
      warps = candidate;
      break;
    }
  }
  const int loads = steps / slices >= 48 ? 8 : 4;
  GptqMatvecPlan plan = with_block(base, warps, slices, loads, std::max(1, splits));
  while (resident_blocks(plan, device) == 0) {  // x and the group parameters too large
    if (plan.splits >= steps)
      refuse("gptq_matvec_plan: no block of the tensor-core kernel fits a " +
             std::to_string(base.tokens) + "-token x in shared memory");
    plan = with_block(base, warps, slices, loads, plan.splits + 1);
  }
  return plan;
}

}  // namespace

GptqMatvecPlan gptq_matvec_plan(const GptqView& layer, DeviceDtype x_dtype, int64_t tokens,
                                MatvecKernel kernel, int splits) {
  expect_layer(layer, "gptq_matvec_plan");
  if (tokens < 1 || tokens > kGptqMatvecMaxTokens)
    refuse("gptq_matvec_plan: " + std::to_string(tokens) + " tokens, expected 1 to " +
           std::to_string(kGptqMatvecMaxTokens));
  if (splits < 0)
    refuse("gptq_matvec_plan: splits is " + std::to_string(splits) + ", expected 0 (auto) or more");
  const DeviceFacts device = device_facts("gptq_matvec_plan");

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
                      device.major >= 8;
  if (plan.tensor_cores) {
    plan = choose_block(plan, splits, device);
    plan.overlap = device.major >= 9;
    return plan;
  }

  const MatvecLaunch launch = matvec_launch(plan);
  const int64_t values = pack_multiple(layer.bits);
  const int64_t depth = layer.in_features / values;  // bundles, which splits divide
  const int64_t min_depth = std::max<int64_t>(1, kMinSplitInputs / values);
  const int64_t tiles = tiles_of(plan);
  if (tiles > 2147483647) refuse("gptq_matvec_plan: too many output columns: " + shape_of(layer));
  if (splits == 0) {
    // Enough blocks to fill the device once: more splits add partial sums to write and read,
    // fewer leave multiprocessors idle.
    int resident = 0;
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
              &resident, launch.kernel, launch.threads,
              static_cast<size_t>(generic_shared_bytes(tokens))),
          "gptq_matvec_plan: occupancy");
    const int64_t wanted =
        static_cast<int64_t>(device.multiprocessors) * std::max(1, resident) / tiles;
    plan.splits = static_cast<int>(std::clamp<int64_t>(wanted, 1, std::max<int64_t>(1, depth / min_depth)));
  } else {
    plan.splits = static_cast<int>(std::min<int64_t>(splits, depth));
  }
  plan.splits = std::min(plan.splits, 65535);
  size_workspace(plan);
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
  const bool block_ok = !plan.tensor_cores || (matvec_launch(plan).kernel != nullptr &&
                                                plan.slices >= 1 && plan.warps % plan.slices == 0);
  if (plan.tokens < 1 || plan.tokens > kGptqMatvecMaxTokens || plan.splits < 1 || !block_ok)
    refuse("gptq_matvec_cuda: the plan has " + std::to_string(plan.tokens) + " tokens, " +
           std::to_string(plan.splits) + " splits and blocks of " + std::to_string(plan.warps) +
           " warps in " + std::to_string(plan.slices) + " slices; make it with gptq_matvec_plan");
  if (args.x == nullptr || args.y == nullptr)
    refuse("gptq_matvec_cuda: x and y must be device pointers, got null");
  if (plan.splits > 1 && (args.workspace == nullptr || args.counters == nullptr))
    refuse("gptq_matvec_cuda: the plan splits the input dimension " + std::to_string(plan.splits) +
           " ways: it needs a workspace of " + std::to_string(plan.workspace_floats) +
           " floats and " + std::to_string(plan.counters) + " counters");
  if (plan.tensor_cores && (!aligned16(args.x) || !aligned16(layer.qweight)))
    refuse(
        "gptq_matvec_cuda: the tensor-core kernel reads x and qweight 16 bytes at a time; they "
        "must be 16-byte aligned");

  const MatvecLaunch launch = matvec_launch(plan);
  MatvecParams p = matvec_params(layer);
  p.x = args.x;
  p.tokens = static_cast<int>(plan.tokens);
  p.y = args.y;
  p.y_dtype = args.y_dtype;
  p.partials = args.workspace;
  p.counters = args.counters;
  p.splits = plan.splits;
  p.slices = plan.slices;
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(static_cast<unsigned>(tiles_of(plan)), static_cast<unsigned>(plan.splits));
  config.blockDim = dim3(static_cast<unsigned>(launch.threads));
  config.dynamicSmemBytes = static_cast<size_t>(matvec_shared_bytes(plan));
  config.stream = static_cast<cudaStream_t>(stream);
  cudaLaunchAttribute overlap[1];
  overlap[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  overlap[0].val.programmaticStreamSerializationAllowed = 1;
  if (plan.tensor_cores && plan.overlap && args.overlap_previous) {
    config.attrs = overlap;
    config.numAttrs = 1;
  }
  void* kernel_args[] = {&p};
  check(cudaLaunchKernelExC(&config, launch.kernel, kernel_args), "gptq_matvec_cuda");
}

}  // namespace lmf::quant
