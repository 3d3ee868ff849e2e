// Note [Decode kernels]
// A batch-1 decode step reads every weight once and does little else: it is a chain of
// matrix-vector products, and on a 1.5B model each of them is a few microseconds. There
// the cost of a kernel boundary — launching, ramping up to full bandwidth, draining —
// is as large as the work, and the unfused decoder has 13 kernels a layer (docs/
// benchmarks.md). These kernels fold the small steps into the products around them:
//
//   gemv: the RMSNorm before a projection runs in its prologue (each block normalises
//     the input itself: it is a few KB, read from L2, and the weight loads are already
//     in flight while it does), the residual add, the SwiGLU, or the rotary embedding
//     and the KV-cache write after it in its epilogue. A layer is then qkv (norm + bias
//     + rotary embedding + cache write), attention, o (+ residual), gate/up (norm +
//     SwiGLU), down (+ residual): 5 kernels instead of 13, all launched overlapped
//     (Note [Overlapped launches]); how the GEMV keeps the memory busy: Note [Loads in
//     flight].
//   decode_attention: one query per sequence against a KV cache, split into chunks of
//     keys over the blocks (flash-decoding), one block per query head and chunk, and the
//     last block of each head merging the chunks' partial softmaxes — no second kernel
//     (or, where the chunks are few, the first block of a cluster: Note [Merged in a
//     cluster]).
//
// Rounding follows the unfused decoder (where libtorch rounds to the activations' dtype,
// these do), so outputs differ from it by the order of fp32 sums and, in the attention,
// by the fast exponential (__expf, a few ulps).
//
// Status: docs/benchmarks.md (issue 5) has the decode step's times with and without these
// kernels; bench/backend/decode_gemv_bench.cu times each projection against cuBLAS.
#include "kernels/decode_kernels.h"

#include "kernels/device_common.cuh"

#include <cooperative_groups.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>

namespace lmf::torch_backend::kernels {
namespace {

// ---- gemv -------------------------------------------------------------------------

constexpr int kGemvWarps = 8;  // per block
constexpr int kGemvThreads = 32 * kGemvWarps;
// Resident blocks a multiprocessor (at most 80 registers a thread): 24 warps; fewer warps
// with more loads each streamed less (Note [Loads in flight]).
constexpr int kGemvBlocksPerMultiprocessor = 3;
// 16-byte loads a lane and row per pass (the most: fewer where a share is shorter, one
// more where that makes the share one pass: Note [Loads in flight]).
constexpr int kGemvLoads = 4;
constexpr int64_t kGemvMaxSharedBytes = 44 * 1024;  // the normalised x (under 48 KB with the static arrays)

// Weights are read once a step: streamed past L1, so that x stays there.
template <typename T>
__device__ __forceinline__ Vec<T> load_streaming(const Vec<T>* p) {
  uint4 raw;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(raw.x), "=r"(raw.y), "=r"(raw.z), "=r"(raw.w)
               : "l"(p));
  Vec<T> v;
  static_assert(sizeof(v) == sizeof(raw));
  memcpy(&v, &raw, sizeof(v));
  return v;
}

template <typename T>
__device__ __forceinline__ float dot(const Vec<T>& w, const Vec<T>& x, float acc) {
#pragma unroll
  for (int j = 0; j < Vec<T>::kSize; ++j) acc = fmaf(to_float(w.v[j]), to_float(x.v[j]), acc);
  return acc;
}

// bf16 is the top half of an fp32: widened by a shift or a mask of each 32-bit word (the
// generic conversions left bf16 kernels short of registers).
__device__ __forceinline__ float dot(const Vec<__nv_bfloat16>& w, const Vec<__nv_bfloat16>& x, float acc) {
  uint32_t wp[4], xp[4];
  memcpy(wp, &w, sizeof(wp));
  memcpy(xp, &x, sizeof(xp));
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    acc = fmaf(__uint_as_float(wp[k] << 16), __uint_as_float(xp[k] << 16), acc);
    acc = fmaf(__uint_as_float(wp[k] & 0xffff0000u), __uint_as_float(xp[k] & 0xffff0000u), acc);
  }
  return acc;
}

// RMSNorm's output of x's elements, rounded as rms_norm_row rounds: g * to_dtype(x * rstd).
template <typename T>
__device__ __forceinline__ Vec<T> normalised(const Vec<T>& x, const Vec<T>& g, float rstd) {
  Vec<T> out;
#pragma unroll
  for (int j = 0; j < Vec<T>::kSize; ++j) out.v[j] = from_float<T>(to_float(g.v[j]) * rounded<T>(to_float(x.v[j]) * rstd));
  return out;
}

// The same on bf16 pairs: widened by shifts, rounded two at a time.
__device__ __forceinline__ Vec<__nv_bfloat16> normalised(const Vec<__nv_bfloat16>& x, const Vec<__nv_bfloat16>& g,
                                                         float rstd) {
  uint32_t xp[4], gp[4], out[4];
  memcpy(xp, &x, sizeof(xp));
  memcpy(gp, &g, sizeof(gp));
  auto pack = [](float lo, float hi) {
    const __nv_bfloat162 two = __floats2bfloat162_rn(lo, hi);
    uint32_t word;
    memcpy(&word, &two, sizeof(word));
    return word;
  };
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const uint32_t scaled = pack(__uint_as_float(xp[k] << 16) * rstd, __uint_as_float(xp[k] & 0xffff0000u) * rstd);
    out[k] = pack(__uint_as_float(gp[k] << 16) * __uint_as_float(scaled << 16),
                  __uint_as_float(gp[k] & 0xffff0000u) * __uint_as_float(scaled & 0xffff0000u));
  }
  Vec<__nv_bfloat16> v;
  memcpy(&v, out, sizeof(v));
  return v;
}

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Note [Overlapped launches]
// Kernels launched with programmatic stream serialization (launch_overlapped) may start
// while the kernels before them are still running, once the blocks of the one just
// before have all signalled `allow_next_kernel` (each kernel here does so first thing, so
// several may be resident at once); `wait_for_previous_kernel` then blocks until the
// kernel before has finished and its writes are visible, and with it every kernel before
// that. What a kernel does before the wait must not read anything a kernel of the step
// writes: the GEMV issues its weights' loads there (and the norm's weights), so that they
// are in flight during the previous kernels' tails, and writes nothing before it; the
// attention kernel reads the cache's slot there (written before the step's kernels, by
// a copy or by the previous step's end), and the keys and values of its first tile but
// the newest (keys − 1, the one the q/k/v kernel writes), so that the cache's trip to
// memory is off the critical path. Hence the weights must not be written by a kernel
// just before an overlapped GEMV (they are fixed during decoding; a dequantize or an
// optimizer step before one would race), nor the slot by one of the step's kernels, nor
// a cache position other than the newest by the kernels before the attention.
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

__device__ __forceinline__ float warp_max(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

// Which two rows of W a warp computes: adjacent rows; SwiGLU's gate row and its up row;
// or, with the rotary embedding, element i and i + head_dim/2 of a head (the two it mixes).
enum class GemvRows { adjacent, swiglu, rope };

// (32-bit arithmetic: the rows' count is checked to fit; a 64-bit division per pass cost
// the q/k/v projection a tenth of its time.)
template <GemvRows kRows>
__device__ __forceinline__ void gemv_rows_of(const GemvArgs& a, int pair, int& row0, int& row1) {
  if constexpr (kRows == GemvRows::swiglu) {
    row0 = pair;
    row1 = pair + static_cast<int>(a.rows / 2);
  } else if constexpr (kRows == GemvRows::rope) {
    const int head_dim = static_cast<int>(a.rope.head_dim), half = head_dim / 2;
    row0 = pair / half * head_dim + pair % half;
    row1 = row0 + half;
  } else {
    row0 = 2 * pair;
    row1 = 2 * pair + 1;
  }
}

// What a pair's epilogue reads besides its sums, loaded when the pair's first pass starts
// so that these loads are in flight with its weights' (all lanes load the same values).
template <GemvRows kRows>
struct GemvEpilogueIn {
  float bias0 = 0.f, bias1 = 0.f, residual0 = 0.f, residual1 = 0.f;
  float cos0 = 0.f, cos1 = 0.f, sin0 = 0.f, sin1 = 0.f;  // the rotary embedding's angles
  int slot = 0;  // a cache position
};

template <typename T, GemvRows kRows>
__device__ __forceinline__ GemvEpilogueIn<kRows> gemv_epilogue_in(const GemvArgs& a, int row0, int row1, bool has1) {
  GemvEpilogueIn<kRows> in;
  if (const T* bias = static_cast<const T*>(a.bias)) {
    in.bias0 = to_float(bias[row0]);
    if (has1) in.bias1 = to_float(bias[row1]);
  }
  if constexpr (kRows == GemvRows::adjacent) {
    if (const T* residual = static_cast<const T*>(a.residual)) {
      in.residual0 = to_float(residual[row0]);
      if (has1) in.residual1 = to_float(residual[row1]);
    }
  } else if constexpr (kRows == GemvRows::rope) {
    const GemvRope& r = a.rope;
    const int head_dim = static_cast<int>(r.head_dim), i = row0 % head_dim;
    if (row0 < r.q_rows + r.kv_rows) {
      in.cos0 = to_float(static_cast<const T*>(r.cos)[i]);
      in.cos1 = to_float(static_cast<const T*>(r.cos)[i + head_dim / 2]);
      in.sin0 = to_float(static_cast<const T*>(r.sin)[i]);
      in.sin1 = to_float(static_cast<const T*>(r.sin)[i + head_dim / 2]);
    }
    if (row0 >= r.q_rows) in.slot = static_cast<int>(*r.slot);
  }
  return in;
}

// What a pair's two sums become (GemvArgs): written by one lane.
template <typename T, GemvRows kRows>
__device__ __forceinline__ void gemv_epilogue(const GemvArgs& a, const GemvEpilogueIn<kRows>& in, int row0, int row1,
                                              bool has1, float acc0, float acc1) {
  T* y = static_cast<T*>(a.y);
  const float out0 = acc0 + in.bias0;
  const float out1 = acc1 + in.bias1;
  if constexpr (kRows == GemvRows::swiglu) {
    y[row0] = from_float<T>(rounded<T>(silu(rounded<T>(out0))) * rounded<T>(out1));
  } else if constexpr (kRows == GemvRows::rope) {
    // As rope_and_store_kernel: q and k heads turned, v copied; k and v into the caches.
    const GemvRope& r = a.rope;
    const int head_dim = static_cast<int>(r.head_dim), half = head_dim / 2, i = row0 % head_dim;
    float x1 = rounded<T>(out0), x2 = rounded<T>(out1);
    if (row0 < r.q_rows + r.kv_rows) {
      const float turned1 = rounded<T>(__fmul_rn(x1, in.cos0)) + rounded<T>(__fmul_rn(-x2, in.sin0));
      const float turned2 = rounded<T>(__fmul_rn(x2, in.cos1)) + rounded<T>(__fmul_rn(x1, in.sin1));
      x1 = turned1;
      x2 = turned2;
    }
    y[row0] = from_float<T>(x1);
    y[row1] = from_float<T>(x2);
    if (row0 >= r.q_rows) {
      const bool key = row0 < r.q_rows + r.kv_rows;
      const int head = (row0 - static_cast<int>(r.q_rows + (key ? 0 : r.kv_rows))) / head_dim;
      T* cache = static_cast<T*>(key ? r.k_cache : r.v_cache) + head * r.cache_head_stride +
                 static_cast<int64_t>(in.slot) * r.cache_position_stride + i;
      cache[0] = from_float<T>(x1);
      cache[half] = from_float<T>(x2);
    }
  } else {
    const bool residual = a.residual != nullptr;
    y[row0] = from_float<T>(residual ? in.residual0 + rounded<T>(out0) : out0);
    if (has1) y[row1] = from_float<T>(residual ? in.residual1 + rounded<T>(out1) : out1);
  }
}

// Note [Loads in flight]
// A batch-1 GEMV is a stream of weights through the multiprocessors, and it runs at the
// memory's bandwidth only with enough loads issued and not yet arrived, from enough warps:
// on an H100 a warp's loads in flight are used together (the loaded latency is several
// microseconds), so what counts is warps a multiprocessor, each with a pass in flight.
// Measured (bench/backend/decode_gemv_bench.cu): 24 warps of 4 loads a lane and row beat
// 16 of 8, and 8 warps with two passes each in flight (registers for both) ran at half.
// So:
// - each warp computes two rows over a share of the width (`chunks` warps a pair, at
//   most 8, enough that a share is one pass of kLoads 16-byte loads a lane and row; more
//   passes where the rows are longer still) — the split over K that keeps every warp
//   busy where rows are few and long, as down's;
// - the grid is persistent (kGemvBlocksPerMultiprocessor blocks a multiprocessor), a
//   block's groups of `chunks` warps take pairs gridDim·groups apart (dealt over the
//   blocks first, so that few pairs still spread over every multiprocessor), every warp
//   of a group the same pairs;
// - a warp issues the next pass's loads as soon as this pass's registers are read, before
//   it reduces and writes a pair's sums; the first pass is issued before waiting for the
//   previous kernel (Note [Overlapped launches]);
// - a share one load longer than kGemvLoads (down's 8960 columns over 8 warps: 4.4
//   loads) is one pass of kGemvLoads + 1 where the registers allow it, not a full pass
//   and a second of a few lanes; each lane sums the same vectors in the same order
//   either way;
// - a pair's partial sums meet in shared memory, summed in a fixed order: the result does
//   not depend on timing; the group's warps meet at a barrier of their own, no other
//   warp waits for them.
// With the norm, each block normalises x into shared memory once; without, x is read
// through L1.
struct GemvSplit {
  int64_t pairs = 0;  // warp tasks: pairs of rows
  int chunks = 1;     // warps a pair's rows are split over (1, 2, 4 or 8)
  int loads = 2;      // loads a lane and row per pass (an instantiated count)
};

// Group `group`'s warps (count·32 threads) wait for each other; barrier 0 is
// __syncthreads'.
__device__ __forceinline__ void group_barrier(int group, int warps) {
  asm volatile("bar.sync %0, %1;" ::"r"(group + 1), "r"(warps * 32) : "memory");
}

template <typename T, GemvRows kRows, bool kNorm, int kLoads>
__global__ void __launch_bounds__(kGemvThreads, kGemvBlocksPerMultiprocessor) gemv_kernel(GemvArgs a, GemvSplit split) {
  constexpr int V = Vec<T>::kSize;
  constexpr int kPass = 32 * kLoads;  // vectors of a row a warp loads at once
  __shared__ float squares[kGemvWarps];
  __shared__ float partial[2][kGemvWarps][2];  // by pair parity: the next pair's may be written early
  extern __shared__ float4 shared_x[];  // the normalised x as Vec<T> (float4 for the alignment)

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int chunks = split.chunks, group = warp / chunks, chunk = warp % chunks;
  const int pairs = static_cast<int>(split.pairs), stride = static_cast<int>(gridDim.x) * (kGemvWarps / chunks);
  const int vectors = static_cast<int>(a.width / V);
  const int begin = vectors * chunk / chunks, end = vectors * (chunk + 1) / chunks;
  const int passes = max(1, (end - begin + kPass - 1) / kPass);
  const T* weight = static_cast<const T*>(a.weight);

  // A unit of work: a pass over this warp's share of a pair's rows.
  struct Unit {
    int pair, pass;
  };
  auto next = [&](Unit u) { return u.pass + 1 < passes ? Unit{u.pair, u.pass + 1} : Unit{u.pair + stride, 0}; };
  auto load = [&](Vec<T>(&r0)[kLoads], Vec<T>(&r1)[kLoads], Unit unit) {
    int row0, row1;
    gemv_rows_of<kRows>(a, unit.pair, row0, row1);
    const bool has1 = row1 < a.rows;
    const int first = begin + unit.pass * kPass + lane, left = end - first;
    const Vec<T>* w0 = reinterpret_cast<const Vec<T>*>(weight + row0 * a.weight_stride) + first;
    const Vec<T>* w1 = reinterpret_cast<const Vec<T>*>(weight + (has1 ? row1 : row0) * a.weight_stride) + first;
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      if (32 * u < left) {
        r0[u] = load_streaming(w0 + 32 * u);
        if (has1) r1[u] = load_streaming(w1 + 32 * u);
      }
    }
  };

  Vec<T> r0[kLoads], r1[kLoads];  // a pass in flight
  const Unit start = {group * static_cast<int>(gridDim.x) + static_cast<int>(blockIdx.x), 0};
  // With the norm, the block normalises x into shared memory, each warp a slice: the sum
  // of squares of its slice, the slices' sums (in order), then its slice normalised. A
  // lane holds up to kNormHeld vectors of its slice (and their norm weights) in registers
  // between the two, the rest it reads again.
  constexpr int kNormHeld = 1;
  const int slice_begin = vectors * warp / kGemvWarps + lane, slice_end = vectors * (warp + 1) / kGemvWarps;
  const Vec<T>* norm_weight = static_cast<const Vec<T>*>(a.norm_weight);
  Vec<T> held_x[kNorm ? kNormHeld : 1], held_g[kNorm ? kNormHeld : 1];

  // Note [Overlapped launches]: the first pass's loads (and the norm's weights) before
  // the wait.
  allow_next_kernel();
  if (start.pair < pairs) load(r0, r1, start);
  if constexpr (kNorm) {
#pragma unroll
    for (int h = 0; h < kNormHeld; ++h)
      if (slice_begin + 32 * h < slice_end) held_g[h] = norm_weight[slice_begin + 32 * h];
  }
  wait_for_previous_kernel();
  // The first pair's epilogue inputs are in flight with the norm (the rest's with their
  // pair's first pass).
  GemvEpilogueIn<kRows> in;
  auto load_epilogue_in = [&](int pair) {
    int row0, row1;
    gemv_rows_of<kRows>(a, pair, row0, row1);
    in = gemv_epilogue_in<T, kRows>(a, row0, row1, row1 < a.rows);
  };
  if (start.pair < pairs && chunk == 0) load_epilogue_in(start.pair);

  const Vec<T>* x = static_cast<const Vec<T>*>(a.x);
  if constexpr (kNorm) {
    Vec<T>* normalised_x = reinterpret_cast<Vec<T>*>(shared_x);
    auto add_squares = [](const Vec<T>& v, float sum) {
#pragma unroll
      for (int j = 0; j < V; ++j) sum += to_float(v.v[j]) * to_float(v.v[j]);
      return sum;
    };
    float sum = 0.f;
#pragma unroll
    for (int h = 0; h < kNormHeld; ++h)
      if (slice_begin + 32 * h < slice_end) held_x[h] = x[slice_begin + 32 * h];
#pragma unroll
    for (int h = 0; h < kNormHeld; ++h)
      if (slice_begin + 32 * h < slice_end) sum = add_squares(held_x[h], sum);
    for (int i = slice_begin + 32 * kNormHeld; i < slice_end; i += 32) sum = add_squares(x[i], sum);
    sum = warp_sum(sum);
    if (lane == 0) squares[warp] = sum;
    __syncthreads();
    sum = 0.f;
#pragma unroll
    for (int w = 0; w < kGemvWarps; ++w) sum += squares[w];
    const float rstd = rsqrtf(sum * (1.f / static_cast<float>(a.width)) + a.eps);
#pragma unroll
    for (int h = 0; h < kNormHeld; ++h)
      if (slice_begin + 32 * h < slice_end)
        normalised_x[slice_begin + 32 * h] = normalised(held_x[h], held_g[h], rstd);
    for (int i = slice_begin + 32 * kNormHeld; i < slice_end; i += 32)
      normalised_x[i] = normalised(x[i], norm_weight[i], rstd);
    __syncthreads();
    x = normalised_x;
  }

  float acc0 = 0.f, acc1 = 0.f;
  int parity = 0;
  // Uses a pass's loads, refills the registers with the next pass's, and where the pass
  // was a pair's last, reduces and writes the pair.
  for (Unit unit = start; unit.pair < pairs;) {
    const Unit ahead = next(unit);
    int row0, row1;
    gemv_rows_of<kRows>(a, unit.pair, row0, row1);
    const bool has1 = row1 < a.rows;
    const int first = begin + unit.pass * kPass + lane, left = end - first;
    if (unit.pass == 0 && chunk == 0 && unit.pair != start.pair) load_epilogue_in(unit.pair);
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      if (32 * u < left) {
        const Vec<T> xu = x[first + 32 * u];
        acc0 = dot(r0[u], xu, acc0);
        if (has1) acc1 = dot(r1[u], xu, acc1);
      }
    }
    if (ahead.pair < pairs) load(r0, r1, ahead);
    const bool last = unit.pass + 1 == passes;
    unit = ahead;
    if (!last) continue;
    float sum0 = warp_sum(acc0), sum1 = warp_sum(acc1);
    acc0 = acc1 = 0.f;
    if (chunks > 1) {
      if (lane == 0) {
        partial[parity][warp][0] = sum0;
        partial[parity][warp][1] = sum1;
      }
      group_barrier(group, chunks);
      sum0 = sum1 = 0.f;
      for (int c = 0; c < chunks; ++c) {
        sum0 += partial[parity][group * chunks + c][0];
        sum1 += partial[parity][group * chunks + c][1];
      }
      parity ^= 1;
    }
    if (chunk == 0 && lane == 0) gemv_epilogue<T, kRows>(a, in, row0, row1, has1, sum0, sum1);
  }
}

// A launch that may overlap the previous kernel's tail (Note [Overlapped launches]), in
// clusters of `cluster` blocks along x where it is above 1.
template <typename... Params, typename... Args>
void launch_overlapped(void (*kernel)(Params...), dim3 blocks, int threads, size_t shared, void* stream,
                       unsigned cluster, Args... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = blocks;
  config.blockDim = dim3(static_cast<unsigned>(threads));
  config.dynamicSmemBytes = shared;
  config.stream = static_cast<cudaStream_t>(stream);
  cudaLaunchAttribute attribute[2];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  attribute[1].id = cudaLaunchAttributeClusterDimension;
  attribute[1].val.clusterDim.x = cluster;
  attribute[1].val.clusterDim.y = 1;
  attribute[1].val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = cluster > 1 ? 2 : 1;
  check(cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...), "cudaLaunchKernelEx");
}

// The current device's multiprocessors, asked of the driver once per device.
int multiprocessors() {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  constexpr int kKnownDevices = 64;
  static std::atomic<int> known[kKnownDevices] = {};
  if (device < kKnownDevices)
    if (const int count = known[device].load(std::memory_order_relaxed); count > 0) return count;
  int count = 0;
  check(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  if (device < kKnownDevices) known[device].store(count, std::memory_order_relaxed);
  return count;
}

// Note [Loads in flight]: the fewest warps a pair (from `min_chunks`) whose shares fit one
// pass, and the loads a lane such a pass needs.
GemvSplit gemv_split(int64_t pairs, int64_t vectors, int min_chunks = 1, int max_loads = kGemvLoads) {
  GemvSplit s;
  s.pairs = pairs;
  s.chunks = min_chunks;
  while (s.chunks < kGemvWarps && (vectors + s.chunks - 1) / s.chunks > 32 * max_loads) s.chunks *= 2;
  while (s.chunks > 1 && vectors / s.chunks < 32) s.chunks /= 2;
  const int64_t needed = ((vectors + s.chunks - 1) / s.chunks + 31) / 32;
  const int64_t loads = std::min<int64_t>(needed, max_loads);
  // A share one load longer than a pass of kGemvLoads (8 warps a pair, the most) is one
  // pass of one load more, not a second pass of a few lanes.
  s.loads = loads <= 2 ? 2 : needed == kGemvLoads + 1 && max_loads == kGemvLoads ? kGemvLoads + 1 : kGemvLoads;
  return s;
}

template <typename T, GemvRows kRows, bool kNorm, int kLoads>
void launch_gemv_with(const GemvArgs& args, const GemvSplit& split, int blocks_per_multiprocessor, void* stream) {
  const int64_t groups = kGemvWarps / split.chunks;
  const int64_t blocks = std::min<int64_t>((split.pairs + groups - 1) / groups,
                                           static_cast<int64_t>(multiprocessors()) * blocks_per_multiprocessor);
  const size_t shared = kNorm ? static_cast<size_t>(args.width / Vec<T>::kSize) * 16 : 0;
  launch_overlapped(gemv_kernel<T, kRows, kNorm, kLoads>, dim3(static_cast<unsigned>(blocks)), kGemvThreads,
                    shared, stream, /*cluster=*/1u, args, split);
}

template <typename T, GemvRows kRows, bool kNorm>
void launch_gemv(const GemvArgs& args, const GemvSplit& split, int blocks_per_multiprocessor, void* stream) {
  // One load more only where the registers allow it (no norm, no epilogue beyond the
  // residual); elsewhere two passes, the same sums in the same order.
  constexpr bool kOneMore = kRows == GemvRows::adjacent && !kNorm;
  switch (split.loads) {
    case 2: launch_gemv_with<T, kRows, kNorm, 2>(args, split, blocks_per_multiprocessor, stream); break;
    case kGemvLoads + 1:
      launch_gemv_with<T, kRows, kNorm, kOneMore ? kGemvLoads + 1 : kGemvLoads>(args, split, blocks_per_multiprocessor,
                                                                                stream);
      break;
    default: launch_gemv_with<T, kRows, kNorm, kGemvLoads>(args, split, blocks_per_multiprocessor, stream); break;
  }
}

template <typename T, GemvRows kRows>
void launch_gemv(const GemvArgs& args, void* stream) {
  const int64_t pairs = kRows == GemvRows::adjacent ? (args.rows + 1) / 2 : args.rows / 2;
  const GemvSplit split = gemv_split(pairs, args.width / Vec<T>::kSize);
  if (args.norm_weight != nullptr) launch_gemv<T, kRows, true>(args, split, kGemvBlocksPerMultiprocessor, stream);
  else launch_gemv<T, kRows, false>(args, split, kGemvBlocksPerMultiprocessor, stream);
}

// ---- decode attention ---------------------------------------------------------------

constexpr int kAttnThreads = 128;
constexpr int kAttnWarps = kAttnThreads / 32;
constexpr int kAttnTile = 64;       // keys a block holds at once
constexpr int kAttnMaxChunks = 64;  // blocks per sequence and KV head
// Note [Merged in a cluster]
// A query head's chunks merge their partial softmaxes in the last block to finish, through
// device memory: a fence, a counter, and that block's loads of the others' partials, three
// trips to memory on the critical path of a kernel of a few microseconds. Where the chunks
// are few (short caches: up to 8 tiles of 64 keys), they are launched as one thread-block
// cluster instead (Hopper): each block stores its partials into the first block's shared
// memory and arrives at the cluster's barrier, the first block waits there and merges
// them, and the others leave at once — one barrier on the critical path, no remote loads.
// (Every block also arrives, relaxed, when it starts, and waits for that phase before its
// remote stores: the first block's shared memory exists only once it has started.)
constexpr int kAttnMaxClusterChunks = 8;  // the portable cluster size
// One query head a block: at decode sizes the kernel is bound by its dependent
// instructions, not by reading keys, so spreading the heads over more blocks (each
// reading its KV head's keys, from L2 after the first) beats sharing a block per KV head.
constexpr int kHeadsPerBlock = 1;
static_assert(kAttnTile == 64, "a tile's softmax takes 2 scores a lane");

// The cluster's barrier in two halves: a thread arrives (releasing its writes, or not),
// and waits for every thread of the cluster that has not exited to have arrived
// (acquiring theirs).
__device__ __forceinline__ void cluster_arrive_relaxed() {
  asm volatile("barrier.cluster.arrive.relaxed;" ::: "memory");
}
__device__ __forceinline__ void cluster_arrive() { asm volatile("barrier.cluster.arrive.release;" ::: "memory"); }
__device__ __forceinline__ void cluster_wait() { asm volatile("barrier.cluster.wait.acquire;" ::: "memory"); }

// Keys per block: whole tiles, at most kAttnMaxChunks blocks over the keys.
int64_t attention_chunk_keys(int64_t max_keys) {
  const int64_t tiles = (max_keys + kAttnTile - 1) / kAttnTile;
  return (tiles + kAttnMaxChunks - 1) / kAttnMaxChunks * kAttnTile;
}

int attention_chunks(int64_t max_keys) {
  const int64_t per_chunk = attention_chunk_keys(max_keys);
  return static_cast<int>((max_keys + per_chunk - 1) / per_chunk);
}

// One block per (chunk of keys, sequence · KV head), walking its chunk a tile of 64 keys
// at a time with a running softmax: scores of the group's query heads against the tile,
// the running max and sum rescaled, the weighted values added. Every load of a tile is
// issued before its arithmetic. The last block of a (sequence, KV head) to finish merges
// the chunks' partial results.
template <typename T, int D, bool kCluster>
__global__ void __launch_bounds__(kAttnThreads) decode_attention_kernel(DecodeAttentionArgs a, int chunks,
                                                                        int64_t chunk_keys) {
  constexpr int V = Vec<T>::kSize;
  constexpr int kLanesPerKey = D / V;                        // lanes holding one key's (value's) vectors
  constexpr int kKeysPerPass = kAttnThreads / kLanesPerKey;  // keys the block holds per pass
  constexpr int kPasses = kAttnTile / kKeysPerPass;
  static_assert(kLanesPerKey >= 1 && kLanesPerKey <= 32 && 32 % kLanesPerKey == 0 && kAttnTile % kKeysPerPass == 0,
                "a key's vectors must fit a warp");

  __shared__ float q_s[kHeadsPerBlock][D];
  __shared__ float p_s[kHeadsPerBlock][kAttnTile];
  __shared__ float m_s[kHeadsPerBlock], l_s[kHeadsPerBlock], rescale_s[kHeadsPerBlock];
  __shared__ float sums_s[kAttnWarps][kHeadsPerBlock][D];
  __shared__ float weights_s[kHeadsPerBlock][kAttnMaxChunks];
  __shared__ float chunk_l_s[kHeadsPerBlock][kAttnMaxChunks];
  __shared__ bool valid_s[kAttnTile];
  __shared__ bool last_block;

  const int group = kHeadsPerBlock;
  const int chunk = blockIdx.x;
  const int64_t b = blockIdx.y / a.heads, head0 = blockIdx.y % a.heads;
  const int64_t kv_head = head0 / (a.heads / a.kv_heads);
  const int64_t keys = a.slot != nullptr ? min(*a.slot + 1, a.max_keys) : a.max_keys;
  const int64_t chunk_start = static_cast<int64_t>(chunk) * chunk_keys;
  const int64_t chunk_end = min(keys, chunk_start + chunk_keys);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int part = threadIdx.x % kLanesPerKey, slot_in_pass = threadIdx.x / kLanesPerKey;
  const int64_t base = b * a.cache_strides[0] + kv_head * a.cache_strides[1] + part * V;
  const T* key_base = static_cast<const T*>(a.k_cache) + base;
  const T* value_base = static_cast<const T*>(a.v_cache) + base;

  // The o projection may start fetching its weights (Note [Overlapped launches]).
  allow_next_kernel();
  if constexpr (kCluster) cluster_arrive_relaxed();  // this block has started (Note [Merged in a cluster])

  Vec<T> k[kPasses], v[kPasses];
  // The keys and values [from, count) of the tile at `start` (one vector a thread and pass).
  auto load_keys = [&](int64_t start, int from, int count) {
#pragma unroll
    for (int p = 0; p < kPasses; ++p) {
      const int j = p * kKeysPerPass + slot_in_pass;
      if (j >= from && j < count) {
        k[p] = *reinterpret_cast<const Vec<T>*>(key_base + (start + j) * a.cache_strides[2]);
        v[p] = *reinterpret_cast<const Vec<T>*>(value_base + (start + j) * a.cache_strides[2]);
      }
    }
  };
  auto load_tile = [&](int64_t start, int count) {
#pragma unroll
    for (int p = 0; p < kPasses; ++p) k[p] = v[p] = Vec<T>{};
    load_keys(start, 0, count);
  };
  auto tile_keys = [&](int64_t start) { return static_cast<int>(min(int64_t{kAttnTile}, chunk_end - start)); };
  // The first tile's keys and values are in flight before the wait (Note [Overlapped
  // launches]: no kernel of the step writes them), but for the newest key, keys − 1, which
  // the q/k/v kernel writes: it is read after the wait, with the queries.
  const int first_count = chunk_start < chunk_end ? tile_keys(chunk_start) : 0;
  const int early_count = static_cast<int>(max(int64_t{0}, min(int64_t{first_count}, keys - 1 - chunk_start)));
  if (first_count > 0) load_tile(chunk_start, early_count);
  wait_for_previous_kernel();
  if (early_count < first_count) load_keys(chunk_start, early_count, first_count);
  const T* q = static_cast<const T*>(a.q) + b * a.q_strides[0];
  for (int i = threadIdx.x; i < group * kLanesPerKey; i += kAttnThreads) {
    const int g = i / kLanesPerKey, at = (i % kLanesPerKey) * V;
    const Vec<T> qv = *reinterpret_cast<const Vec<T>*>(q + (head0 + g) * a.q_strides[1] + at);
#pragma unroll
    for (int e = 0; e < V; ++e) q_s[g][at + e] = to_float(qv.v[e]) * a.scale;
  }
  if (threadIdx.x < kHeadsPerBlock) {
    m_s[threadIdx.x] = -INFINITY;
    l_s[threadIdx.x] = 0.f;
  }
  // (q_s, m_s and l_s are published by the tile loop's first barrier, or by the one
  // before the sums where the chunk has no keys.)

  float acc[kHeadsPerBlock][V] = {};
  for (int64_t start = chunk_start; start < chunk_end; start += kAttnTile) {
    const int count = tile_keys(start);
    if (start != chunk_start) load_tile(start, count);
    if (threadIdx.x < kAttnTile)
      valid_s[threadIdx.x] = threadIdx.x < count && (a.key_valid == nullptr ||
                                                     a.key_valid[b * a.key_valid_stride + start + threadIdx.x]);
    __syncthreads();
    // Scores: kLanesPerKey lanes hold one key's vectors.
#pragma unroll
    for (int p = 0; p < kPasses; ++p) {
      const int j = p * kKeysPerPass + slot_in_pass;
      float s[kHeadsPerBlock];
#pragma unroll
      for (int g = 0; g < kHeadsPerBlock; ++g) {
        s[g] = 0.f;
        if (g < group) {
#pragma unroll
          for (int e = 0; e < V; ++e) s[g] = fmaf(q_s[g][part * V + e], to_float(k[p].v[e]), s[g]);
        }
      }
#pragma unroll
      for (int offset = kLanesPerKey / 2; offset > 0; offset /= 2) {
#pragma unroll
        for (int g = 0; g < kHeadsPerBlock; ++g) s[g] += __shfl_xor_sync(0xffffffffu, s[g], offset);
      }
      if (part == 0) {
#pragma unroll
        for (int g = 0; g < kHeadsPerBlock; ++g)
          if (g < group) p_s[g][j] = valid_s[j] ? s[g] : -INFINITY;
      }
    }
    __syncthreads();
    // The running softmax, one warp a head: 2 scores a lane.
    for (int g = warp; g < group; g += kAttnWarps) {
      const float s0 = p_s[g][lane], s1 = p_s[g][lane + 32];
      const float m_old = m_s[g];
      const float m = fmaxf(m_old, warp_max(fmaxf(s0, s1)));
      const float e0 = m == -INFINITY ? 0.f : __expf(s0 - m);
      const float e1 = m == -INFINITY ? 0.f : __expf(s1 - m);
      const float sum = warp_sum(e0 + e1);
      p_s[g][lane] = e0;
      p_s[g][lane + 32] = e1;
      if (lane == 0) {
        const float rescale = m_old == -INFINITY ? 0.f : __expf(m_old - m);
        rescale_s[g] = rescale;
        m_s[g] = m;
        l_s[g] = l_s[g] * rescale + sum;
      }
    }
    __syncthreads();
    // Weighted values of this thread's keys and dimensions.
#pragma unroll
    for (int g = 0; g < kHeadsPerBlock; ++g) {
      const float rescale = g < group ? rescale_s[g] : 0.f;
#pragma unroll
      for (int e = 0; e < V; ++e) acc[g][e] *= rescale;
    }
#pragma unroll
    for (int p = 0; p < kPasses; ++p) {
      const int j = p * kKeysPerPass + slot_in_pass;
#pragma unroll
      for (int g = 0; g < kHeadsPerBlock; ++g) {
        const float weight = g < group ? p_s[g][j] : 0.f;  // 0 past `count` (exp of −inf)
#pragma unroll
        for (int e = 0; e < V; ++e) acc[g][e] = fmaf(weight, to_float(v[p].v[e]), acc[g][e]);
      }
    }
    __syncthreads();  // p_s is rewritten by the next tile
  }

  // Sum over the lanes of a warp that hold the same dimensions, then over the warps.
#pragma unroll
  for (int offset = kLanesPerKey; offset < 32; offset *= 2) {
#pragma unroll
    for (int g = 0; g < kHeadsPerBlock; ++g) {
#pragma unroll
      for (int e = 0; e < V; ++e) acc[g][e] += __shfl_xor_sync(0xffffffffu, acc[g][e], offset);
    }
  }
  if (lane < kLanesPerKey) {
#pragma unroll
    for (int g = 0; g < kHeadsPerBlock; ++g) {
#pragma unroll
      for (int e = 0; e < V; ++e) sums_s[warp][g][part * V + e] = acc[g][e];
    }
  }
  __syncthreads();

  T* out = static_cast<T*>(a.out) + b * a.heads * D;
  if constexpr (kCluster) {
    // Note [Merged in a cluster]: this chunk's (m, l, sums) into the first block's shared
    // memory (which has started: the barrier's first phase), then the first block merges
    // them once every block has arrived; the others leave.
    __shared__ float merged_m[kAttnMaxClusterChunks][kHeadsPerBlock], merged_l[kAttnMaxClusterChunks][kHeadsPerBlock];
    __shared__ float merged_sums[kAttnMaxClusterChunks][kHeadsPerBlock][D];
    cooperative_groups::cluster_group cluster = cooperative_groups::this_cluster();
    float(*first_sums)[kHeadsPerBlock][D] = cluster.map_shared_rank(merged_sums, 0);
    cluster_wait();
    for (int i = threadIdx.x; i < group * D; i += kAttnThreads) {
      float sum = 0.f;
#pragma unroll
      for (int w = 0; w < kAttnWarps; ++w) sum += sums_s[w][i / D][i % D];
      first_sums[chunk][i / D][i % D] = sum;
    }
    if (threadIdx.x < group) {
      cluster.map_shared_rank(merged_m, 0)[chunk][threadIdx.x] = m_s[threadIdx.x];
      cluster.map_shared_rank(merged_l, 0)[chunk][threadIdx.x] = l_s[threadIdx.x];
    }
    cluster_arrive();
    if (cluster.block_rank() != 0) return;
    cluster_wait();
    for (int i = threadIdx.x; i < group * D; i += kAttnThreads) {
      const int g = i / D, d = i % D;
      float mc[kAttnMaxClusterChunks];
      float m = -INFINITY, l = 0.f, o = 0.f;
#pragma unroll
      for (int c = 0; c < kAttnMaxClusterChunks; ++c) {
        if (c < chunks) {
          mc[c] = merged_m[c][g];
          m = fmaxf(m, mc[c]);
        }
      }
#pragma unroll
      for (int c = 0; c < kAttnMaxClusterChunks; ++c) {
        if (c < chunks) {
          mc[c] = mc[c] == -INFINITY ? 0.f : __expf(mc[c] - m);
          l += merged_l[c][g] * mc[c];
        }
      }
#pragma unroll
      for (int c = 0; c < kAttnMaxClusterChunks; ++c)
        if (c < chunks) o = fmaf(merged_sums[c][g][d], l > 0.f ? mc[c] / l : 0.f, o);
      out[(head0 + g) * D + d] = from_float<T>(o);
    }
    return;
  }
  float* partial_acc = a.workspace;  // [B, H, chunks, D], then (m, l) [B, H, chunks, 2]
  float* partial_ml = a.workspace + a.batch * a.heads * chunks * D;
  for (int i = threadIdx.x; i < group * D; i += kAttnThreads) {
    const int g = i / D, d = i % D;
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < kAttnWarps; ++w) sum += sums_s[w][g][d];
    if (chunks == 1) {
      out[(head0 + g) * D + d] = from_float<T>(l_s[g] > 0.f ? sum / l_s[g] : 0.f);
    } else {
      const int64_t index = (b * a.heads + head0 + g) * chunks + chunk;
      partial_acc[index * D + d] = sum;
      if (d == 0) {
        partial_ml[index * 2] = m_s[g];
        partial_ml[index * 2 + 1] = l_s[g];
      }
    }
  }
  if (chunks == 1) return;

  __threadfence();  // the partials are visible before this block is counted
  __syncthreads();
  if (threadIdx.x == 0) last_block = atomicAdd(&a.counters[blockIdx.y], 1) == chunks - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  // Each chunk's weight exp(m_c − m) / l per head, then every output a weighted sum.
  const int64_t first_row = (b * a.heads + head0) * chunks;
  for (int i = threadIdx.x; i < group * chunks; i += kAttnThreads) {
    weights_s[i / chunks][i % chunks] = __ldcg(partial_ml + (first_row + i) * 2);
    chunk_l_s[i / chunks][i % chunks] = __ldcg(partial_ml + (first_row + i) * 2 + 1);
  }
  __syncthreads();
  if (threadIdx.x < group) {
    const int g = threadIdx.x;
    float m = -INFINITY, l = 0.f;
    for (int c = 0; c < chunks; ++c) m = fmaxf(m, weights_s[g][c]);
    for (int c = 0; c < chunks; ++c) {
      const float mc = weights_s[g][c];
      const float w = mc == -INFINITY ? 0.f : __expf(mc - m);
      l += chunk_l_s[g][c] * w;
      weights_s[g][c] = w;
    }
    for (int c = 0; c < chunks; ++c) weights_s[g][c] = l > 0.f ? weights_s[g][c] / l : 0.f;
  }
  __syncthreads();
  // Outputs i = threadIdx.x + kAttnThreads·r: one load of each per chunk, all in flight.
  constexpr int kOutputs = (kHeadsPerBlock * D + kAttnThreads - 1) / kAttnThreads;
  float o[kOutputs] = {};
  for (int c = 0; c < chunks; ++c) {
#pragma unroll
    for (int r = 0; r < kOutputs; ++r) {
      const int i = threadIdx.x + kAttnThreads * r;
      if (i < group * D)
        o[r] = fmaf(__ldcg(partial_acc + (first_row + (i / D) * chunks + c) * D + i % D), weights_s[i / D][c], o[r]);
    }
  }
#pragma unroll
  for (int r = 0; r < kOutputs; ++r) {
    const int i = threadIdx.x + kAttnThreads * r;
    if (i < group * D) out[(head0 + i / D) * D + i % D] = from_float<T>(o[r]);
  }
  if (threadIdx.x == 0) a.counters[blockIdx.y] = 0;  // ready for the next call
}

}  // namespace

int64_t gemv_max_width(Dtype dtype) {
  return kGemvMaxSharedBytes / 16 * vector_width(dtype);
}

void gemv(Dtype dtype, const GemvArgs& args, void* stream) {
  if (args.rows == 0) return;
  const bool rope = args.rope.cos != nullptr;
  if ((args.norm_weight != nullptr && args.width > gemv_max_width(dtype)) || args.width % vector_width(dtype) != 0 ||
      args.width / vector_width(dtype) > std::numeric_limits<int>::max() || args.rows > std::numeric_limits<int>::max() ||
      (args.swiglu && (args.rows % 2 != 0 || args.residual != nullptr || rope)) ||
      (rope && (args.residual != nullptr || args.rope.head_dim % 2 != 0 || args.rope.head_dim == 0 ||
                args.rows != args.rope.q_rows + 2 * args.rope.kv_rows || args.rope.q_rows % args.rope.head_dim != 0 ||
                args.rope.kv_rows % args.rope.head_dim != 0 || args.rope.slot == nullptr)))
    throw std::runtime_error("gemv: unsupported shape: " + std::to_string(args.rows) + " rows of " +
                             std::to_string(args.width));
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    if (args.swiglu) launch_gemv<T, GemvRows::swiglu>(args, stream);
    else if (rope) launch_gemv<T, GemvRows::rope>(args, stream);
    else launch_gemv<T, GemvRows::adjacent>(args, stream);
  });
  check(cudaGetLastError(), "gemv");
}

bool decode_attention_supports(int64_t heads, int64_t kv_heads, int64_t head_dim) {
  return kv_heads > 0 && heads % kv_heads == 0 &&
         (head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128);
}

int64_t decode_attention_workspace(int64_t batch, int64_t heads, int64_t head_dim, int64_t max_keys) {
  // A call over fewer keys than max_keys may split them into more chunks (up to one a
  // tile): the most any call up to max_keys needs.
  const int64_t tiles = (max_keys + kAttnTile - 1) / kAttnTile;
  const int64_t chunks = std::min<int64_t>(kAttnMaxChunks, tiles);
  return chunks > 1 ? batch * heads * chunks * (head_dim + 2) : 0;
}

void decode_attention(Dtype dtype, const DecodeAttentionArgs& args, void* stream) {
  if (!decode_attention_supports(args.heads, args.kv_heads, args.head_dim))
    throw std::runtime_error("decode_attention: unsupported heads " + std::to_string(args.heads) + "/" +
                             std::to_string(args.kv_heads) + " of dimension " + std::to_string(args.head_dim));
  if (args.batch == 0 || args.max_keys == 0) return;
  const int chunks = attention_chunks(args.max_keys);
  const int64_t chunk_keys = attention_chunk_keys(args.max_keys);
  const dim3 grid(static_cast<unsigned>(chunks), static_cast<unsigned>(args.batch * args.heads));
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    // Note [Merged in a cluster]: up to kAttnMaxClusterChunks chunks in one cluster.
    const bool cluster = chunks > 1 && chunks <= kAttnMaxClusterChunks;
    auto launch = [&](auto plain, auto clustered) {
      if (cluster) launch_overlapped(clustered, grid, kAttnThreads, 0, stream, chunks, args, chunks, chunk_keys);
      else launch_overlapped(plain, grid, kAttnThreads, 0, stream, 1u, args, chunks, chunk_keys);
    };
    switch (args.head_dim) {
      case 16: launch(decode_attention_kernel<T, 16, false>, decode_attention_kernel<T, 16, true>); break;
      case 32: launch(decode_attention_kernel<T, 32, false>, decode_attention_kernel<T, 32, true>); break;
      case 64: launch(decode_attention_kernel<T, 64, false>, decode_attention_kernel<T, 64, true>); break;
      default: launch(decode_attention_kernel<T, 128, false>, decode_attention_kernel<T, 128, true>); break;
    }
  });
  check(cudaGetLastError(), "decode_attention");
}

}  // namespace lmf::torch_backend::kernels
