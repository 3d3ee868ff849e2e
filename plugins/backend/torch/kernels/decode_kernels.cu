// Note [Decode kernels]
// A batch-1 decode step reads every weight once and does little else: it is a chain of
// matrix-vector products, and on a 1.5B model each of them is a few microseconds. There
// the cost of a kernel boundary — launching, ramping up to full bandwidth, draining —
// is as large as the work, and the unfused decoder has 13 kernels a layer (docs/
// benchmarks.md). These kernels fold the small steps into the products around them:
//
//   gemv: the RMSNorm before a projection runs in its prologue (each block normalises
//     the input itself: it is a few KB, read from L2, and the weight loads are already
//     in flight while it does), the residual add or the SwiGLU after it in its epilogue.
//     A layer is then qkv (norm + bias), rope_and_store, attention, o (+ residual),
//     gate/up (norm + SwiGLU), down (+ residual): 6 kernels instead of 13.
//   decode_attention: one query per sequence against a KV cache, split into chunks of
//     keys over the blocks (flash-decoding), one block per query head and chunk, and the
//     last block of each head merging the chunks' partial softmaxes — no second kernel.
//
// Rounding follows the unfused decoder (where libtorch rounds to the activations' dtype,
// these do), so outputs differ from it by the order of fp32 sums and, in the attention,
// by the fast exponential (__expf, a few ulps).
//
// Status (H100, 2026-11-24): with overlapped launches (Note [Overlapped launches])
// Qwen2-1.5B decodes at 2.09 ms a step against 2.19 through cuBLAS, but Llama-8B at 6.67
// against 6.41 — cuBLAS streams the large matrices better — so the load option
// `decode_kernels` stays off by default (docs/benchmarks.md has the profile).
#include "kernels/decode_kernels.h"

#include "kernels/device_common.cuh"

#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

namespace lmf::torch_backend::kernels {
namespace {

// ---- gemv -------------------------------------------------------------------------

constexpr int kGemvThreads = 256;
constexpr int kGemvWarps = kGemvThreads / 32;
// 16-byte loads in flight per lane: 8 of one row, or 4 of each of SwiGLU's two rows.
template <bool kSwiglu>
constexpr int kGemvUnroll = kSwiglu ? 4 : 8;
constexpr int kGemvMinBlocks = 2;  // per multiprocessor: caps registers at 128 a thread
constexpr int64_t kGemvMaxSharedBytes = 96 * 1024;

// Weights are read once a step: streamed past L1 and marked first to leave L2.
template <typename T>
__device__ __forceinline__ Vec<T> load_streaming(const Vec<T>* p) {
  const float4 raw = __ldcs(reinterpret_cast<const float4*>(p));
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

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Note [Overlapped launches]
// Kernels launched with programmatic stream serialization (launch_overlapped) may start
// while the kernel before them is still running, once its blocks have all signalled
// `allow_next_kernel`; `wait_for_previous_kernel` then blocks until that kernel has
// finished and its writes are visible. What a kernel does between its start and the wait
// must not read the previous kernel's output: the GEMV issues its first weight loads
// there, so that they are in flight during the previous kernel's tail. Hence the weights
// must not be written by the kernel just before an overlapped GEMV (they are fixed during
// decoding; a dequantize or an optimizer step before one would race).
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

// Each output row is computed by `splits` consecutive warps of a block, each over a
// contiguous share of the row's vectors (a block holds kGemvWarps / splits rows at a
// time). The grid is no larger than what is resident at once: blocks loop over groups of
// rows gridDim apart, so that a block stages (and normalises) x once however many rows
// it computes, and none waits for another wave. With SwiGLU a warp computes an output's
// gate row and up row together.
template <typename T, bool kNorm, bool kSwiglu>
__global__ void __launch_bounds__(kGemvThreads, kGemvMinBlocks) gemv_kernel(GemvArgs a, int splits) {
  constexpr int V = Vec<T>::kSize;
  constexpr int kUnroll = kGemvUnroll<kSwiglu>;
  constexpr int kPrefetch = kUnroll / 2;  // loads per lane and row issued before the wait
  extern __shared__ float4 shared_x[];  // x as Vec<T> (float4 for the alignment)
  Vec<T>* xs = reinterpret_cast<Vec<T>*>(shared_x);
  __shared__ float partial[2][kGemvWarps];

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int rows_per_block = kGemvWarps / splits, split = warp % splits;
  const int64_t out_rows = kSwiglu ? a.rows / 2 : a.rows;
  const int64_t vectors = a.width / V;
  const int64_t begin = vectors * split / splits, end = vectors * (split + 1) / splits;
  const T* weight = static_cast<const T*>(a.weight);
  auto row_vectors = [&](int64_t r) { return reinterpret_cast<const Vec<T>*>(weight + r * a.weight_stride); };

  // Note [Overlapped launches]: the first row's first loads before the wait.
  allow_next_kernel();
  const int64_t first = blockIdx.x * static_cast<int64_t>(rows_per_block) + warp / splits;
  Vec<T> first0[kPrefetch], first1[kPrefetch];
  if (first < out_rows) {
#pragma unroll
    for (int u = 0; u < kPrefetch; ++u) {
      const int64_t i = begin + lane + 32 * u;
      if (i < end) {
        first0[u] = load_streaming(row_vectors(first) + i);
        if constexpr (kSwiglu) first1[u] = load_streaming(row_vectors(first + out_rows) + i);
      }
    }
  }
  wait_for_previous_kernel();

  const Vec<T>* x = static_cast<const Vec<T>*>(a.x);
  if constexpr (kNorm) {
    rms_norm_row(x, static_cast<const Vec<T>*>(a.norm_weight), xs, a.width, a.eps);
  } else {
    for (int64_t i = threadIdx.x; i < vectors; i += blockDim.x) xs[i] = x[i];
  }
  __syncthreads();

  const T* bias = static_cast<const T*>(a.bias);
  T* y = static_cast<T*>(a.y);
  // The loop's condition is the same for the whole block (it meets __syncthreads).
  for (int64_t first_row = blockIdx.x * static_cast<int64_t>(rows_per_block); first_row < out_rows;
       first_row += static_cast<int64_t>(gridDim.x) * rows_per_block) {
    const int64_t row = first_row + warp / splits;
    float acc0 = 0.f, acc1 = 0.f;
    if (row < out_rows) {
      const Vec<T>* w0 = row_vectors(row);
      const Vec<T>* w1 = row_vectors(kSwiglu ? row + out_rows : row);
      const bool prefetched = row == first;
      if (prefetched) {
#pragma unroll
        for (int u = 0; u < kPrefetch; ++u) {
          const int64_t i = begin + lane + 32 * u;
          if (i < end) {
            acc0 = dot(first0[u], xs[i], acc0);
            if constexpr (kSwiglu) acc1 = dot(first1[u], xs[i], acc1);
          }
        }
      }
      for (int64_t base = begin + lane + (prefetched ? 32 * kPrefetch : 0); base < end; base += 32 * kUnroll) {
        Vec<T> r0[kUnroll], r1[kUnroll];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int64_t i = base + 32 * u;
          if (i < end) {
            r0[u] = load_streaming(w0 + i);
            if constexpr (kSwiglu) r1[u] = load_streaming(w1 + i);
          }
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int64_t i = base + 32 * u;
          if (i < end) {
            acc0 = dot(r0[u], xs[i], acc0);
            if constexpr (kSwiglu) acc1 = dot(r1[u], xs[i], acc1);
          }
        }
      }
      acc0 = warp_sum(acc0);
      if constexpr (kSwiglu) acc1 = warp_sum(acc1);
    }
    if (splits > 1) {
      if (lane == 0) {
        partial[0][warp] = acc0;
        partial[1][warp] = acc1;
      }
      __syncthreads();
      if (split == 0 && lane == 0) {
        for (int k = 1; k < splits; ++k) {
          acc0 += partial[0][warp + k];
          acc1 += partial[1][warp + k];
        }
      }
      __syncthreads();  // `partial` is rewritten by the next group of rows
    }
    if (row >= out_rows || split != 0 || lane != 0) continue;
    if constexpr (kSwiglu) {
      const float gate = rounded<T>(acc0 + (bias ? to_float(bias[row]) : 0.f));
      const float up = rounded<T>(acc1 + (bias ? to_float(bias[row + out_rows]) : 0.f));
      y[row] = from_float<T>(rounded<T>(silu(gate)) * up);
    } else {
      float value = acc0 + (bias ? to_float(bias[row]) : 0.f);
      if (a.residual != nullptr) value = to_float(static_cast<const T*>(a.residual)[row]) + rounded<T>(value);
      y[row] = from_float<T>(value);
    }
  }
}

// A launch that may overlap the previous kernel's tail (Note [Overlapped launches]).
template <typename... Params, typename... Args>
void launch_overlapped(void (*kernel)(Params...), unsigned blocks, int threads, size_t shared, void* stream,
                       Args... args) {
  cudaLaunchConfig_t config = {};
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(static_cast<unsigned>(threads));
  config.dynamicSmemBytes = shared;
  config.stream = static_cast<cudaStream_t>(stream);
  cudaLaunchAttribute attribute[1];
  attribute[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute[0].val.programmaticStreamSerializationAllowed = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  check(cudaLaunchKernelEx(&config, kernel, static_cast<Params>(args)...), "cudaLaunchKernelEx");
}

// Blocks of `kernel` with `shared` bytes of dynamic shared memory that the current device
// holds at once. Asked of the driver once per kernel, device and size, not in every
// launch (a decode step launches four GEMVs a layer).
int64_t resident_blocks(const void* kernel, size_t shared) {
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  static std::mutex mutex;
  static std::map<std::tuple<const void*, int, size_t>, int64_t> known;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(kernel, device, shared);
  if (const auto found = known.find(key); found != known.end()) return found->second;
  if (shared > 48 * 1024)
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kGemvMaxSharedBytes)),
          "gemv: shared memory");
  int per_multiprocessor = 0, multiprocessors = 0;
  check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_multiprocessor, kernel, kGemvThreads, shared),
        "gemv: occupancy");
  check(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
  const int64_t blocks = std::max(1, per_multiprocessor) * static_cast<int64_t>(multiprocessors);
  known.emplace(key, blocks);
  return blocks;
}

// Warps per row: enough that the rows' tasks fill the resident warps, while each lane
// keeps ≥ 2 loads of a row.
int gemv_splits(int64_t out_rows, int64_t vectors, int64_t resident_warps) {
  int splits = 1;
  while (splits < kGemvWarps && out_rows * splits * 2 <= resident_warps && vectors / (2 * splits) >= 64) splits *= 2;
  return splits;
}

template <typename T, bool kNorm, bool kSwiglu>
void launch_gemv(const GemvArgs& args, void* stream) {
  const int64_t vectors = args.width / Vec<T>::kSize;
  const int64_t out_rows = kSwiglu ? args.rows / 2 : args.rows;
  const size_t shared = static_cast<size_t>(vectors) * 16;
  const auto kernel = gemv_kernel<T, kNorm, kSwiglu>;
  const int64_t resident = resident_blocks(reinterpret_cast<const void*>(kernel), shared);
  const int splits = gemv_splits(out_rows, vectors, resident * kGemvWarps);
  const int rows_per_block = kGemvWarps / splits;
  const int64_t blocks = std::min<int64_t>((out_rows + rows_per_block - 1) / rows_per_block, resident);
  launch_overlapped(kernel, static_cast<unsigned>(blocks), kGemvThreads, shared, stream, args, splits);
}

// ---- decode attention ---------------------------------------------------------------

constexpr int kAttnThreads = 128;
constexpr int kAttnWarps = kAttnThreads / 32;
constexpr int kAttnTile = 64;       // keys a block holds at once
constexpr int kAttnMaxChunks = 64;  // blocks per sequence and KV head
// One query head a block: at decode sizes the kernel is bound by its dependent
// instructions, not by reading keys, so spreading the heads over more blocks (each
// reading its KV head's keys, from L2 after the first) beats sharing a block per KV head.
constexpr int kHeadsPerBlock = 1;
static_assert(kAttnTile == 64, "a tile's softmax takes 2 scores a lane");

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
template <typename T, int D>
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

  // The o projection may start fetching its weights (Note [Overlapped launches]). This
  // kernel itself is launched plainly: it reads q and the slot before any wait, which
  // would race if it were launched overlapped.
  allow_next_kernel();
  // The queries: one vector a thread (issued before anything waits on the slot).
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
  __syncthreads();

  float acc[kHeadsPerBlock][V] = {};
  for (int64_t start = chunk_start; start < chunk_end; start += kAttnTile) {
    const int count = static_cast<int>(min(int64_t{kAttnTile}, chunk_end - start));
    Vec<T> k[kPasses], v[kPasses];
#pragma unroll
    for (int p = 0; p < kPasses; ++p) {
      const int j = p * kKeysPerPass + slot_in_pass;
      k[p] = Vec<T>{};
      v[p] = Vec<T>{};
      if (j < count) {
        k[p] = *reinterpret_cast<const Vec<T>*>(key_base + (start + j) * a.cache_strides[2]);
        v[p] = *reinterpret_cast<const Vec<T>*>(value_base + (start + j) * a.cache_strides[2]);
      }
    }
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
  if (args.width > gemv_max_width(dtype) || args.width % vector_width(dtype) != 0 ||
      (args.swiglu && (args.rows % 2 != 0 || args.residual != nullptr)))
    throw std::runtime_error("gemv: unsupported shape: " + std::to_string(args.rows) + " rows of " +
                             std::to_string(args.width));
  const bool norm = args.norm_weight != nullptr;
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    if (norm && args.swiglu) launch_gemv<T, true, true>(args, stream);
    else if (norm) launch_gemv<T, true, false>(args, stream);
    else if (args.swiglu) launch_gemv<T, false, true>(args, stream);
    else launch_gemv<T, false, false>(args, stream);
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
    const auto stream_ = static_cast<cudaStream_t>(stream);
    switch (args.head_dim) {
      case 16: decode_attention_kernel<T, 16><<<grid, kAttnThreads, 0, stream_>>>(args, chunks, chunk_keys); break;
      case 32: decode_attention_kernel<T, 32><<<grid, kAttnThreads, 0, stream_>>>(args, chunks, chunk_keys); break;
      case 64: decode_attention_kernel<T, 64><<<grid, kAttnThreads, 0, stream_>>>(args, chunks, chunk_keys); break;
      default: decode_attention_kernel<T, 128><<<grid, kAttnThreads, 0, stream_>>>(args, chunks, chunk_keys); break;
    }
  });
  check(cudaGetLastError(), "decode_attention");
}

}  // namespace lmf::torch_backend::kernels
