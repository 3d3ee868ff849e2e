// Note [NF4 CUDA kernels]
// The weight is the row-major [out, in] matrix flattened and cut into blocks of block_size
// (a power of two, at least 32) values: w[i] = level[code i] · A[i / block_size], A the
// block's absmax after double quantization (Note [NF4 CPU kernels]). Runs of 32 elements
// that start at a multiple of 32 therefore lie in one block and are 16 packed bytes.
//
// dequantize: one thread per 16 bytes of output (4 fp32 or 8 fp16/bf16 values), so that a
// warp reads 64 or 128 consecutive packed bytes and writes 512 consecutive bytes; the output
// is the flattened weight, so rows that start mid-byte or mid-block need nothing special.
// Every value is computed with the CPU's float operations in the CPU's order, none fused:
// A = map[code] · nested + offset (two roundings, as double_dequantize), then level · A
// (one rounding), then one round-to-nearest-even to fp16/bf16. The results are
// nf4_dequantize's bit for bit (rounded as torch's .to() rounds).
//
// matvec (tokens ≤ 8 a launch): bound by reading 4 bits a weight. A warp owns two rows and
// walks them in 32-element chunks, one chunk a lane a step: it loads the chunk's 16 bytes of
// each row (the next step's are loaded before this step's are used, outside L1), takes each
// code's level from a 16-entry table in shared memory (conflict-free: 16 words, 16 banks),
// sums x · level over the chunk for each token in fp32, and multiplies each chunk sum by the
// block's A. x is read through L1, once a chunk for both rows. The lanes' sums are added by
// a butterfly of shuffles. Only the order of fp32 additions differs from the CPU kernels.
// Rows of a length that is not a multiple of 32 (a layout whose blocks span rows unevenly)
// or an x that is not 16-byte aligned take a plain kernel instead: a warp a row, a lane per
// element, each weight decoded on its own.
// Per weight the fast kernel issues about one shared-memory load, one fma per token and a
// fraction of a shift: at one token the shared-memory lookups, not the instruction issue,
// are the next limit after bandwidth.
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"
#include "plugins/quantizer/common/cuda_dtypes.cuh"

#include "plugins/quantizer/nf4/nf4_codebook.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lmf::quant::nf4 {
namespace {

constexpr int kDequantizeThreads = 256;
constexpr int kMatvecWarps = 4;  // a block
constexpr int kRowsPerWarp = 2;  // rows sharing each load of x
constexpr int kChunk = 32;       // elements of one 16-byte load of codes

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

[[noreturn]] void refuse(const std::string& what) {
  throw std::invalid_argument(what);
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

// log2(value) where value is a power of two, else -1.
int exact_log2(int64_t value) {
  if (value <= 0 || (value & (value - 1)) != 0) return -1;
  int shift = 0;
  while ((int64_t{1} << shift) < value) ++shift;
  return shift;
}

// The NF4 levels, passed by value to each launch and staged in shared memory.
struct Levels {
  float value[16];
};

Levels nf4_levels() {
  Levels levels{};
  for (int i = 0; i < 16; ++i) levels.value[i] = kNf4Levels[static_cast<size_t>(i)];
  return levels;
}

// Where a block's absmax comes from, as the kernels read it (Nf4StoredView).
struct AbsmaxSource {
  const float* values = nullptr;  // without double quantization; else null
  const uint8_t* codes = nullptr;
  const float* nested = nullptr;
  const float* map = nullptr;
  float offset = 0.0f;
  int nested_shift = -1;  // log2 of the nested block size where that is a power of two
  int64_t nested_block_size = 256;
};

// What shapes and absmax the kernels of one layer read.
struct LayerArgs {
  const uint8_t* packed;
  AbsmaxSource absmax;
  int block_shift;  // log2(block_size)
  int64_t out, in;
};

// ---- device pieces -------------------------------------------------------------------

// A block's absmax in two steps, so that its loads can be issued early: `first` is the
// plain absmax or the nested absmax, `code` the absmax code.
struct AbsmaxLoad {
  float first;
  uint32_t code;
};

__device__ __forceinline__ AbsmaxLoad load_absmax(const AbsmaxSource& a, int64_t block) {
  if (a.values != nullptr) return {__ldg(a.values + block), 0u};
  const int64_t group = a.nested_shift >= 0 ? block >> a.nested_shift : block / a.nested_block_size;
  return {__ldg(a.nested + group), static_cast<uint32_t>(__ldg(a.codes + block))};
}

__device__ __forceinline__ float finish_absmax(const AbsmaxSource& a, AbsmaxLoad load) {
  if (a.values != nullptr) return load.first;
  // double_dequantize's two roundings, never fused (Note [Rounding as bitsandbytes does]).
  return __fadd_rn(__fmul_rn(__ldg(a.map + load.code), load.first), a.offset);
}

__device__ __forceinline__ float block_absmax(const AbsmaxSource& a, int64_t block) {
  return finish_absmax(a, load_absmax(a, block));
}

// Where the code of element e sits in a little-endian word of packed bytes: byte k holds
// element 2k in its high nibble and 2k + 1 in its low one.
__device__ __forceinline__ int nibble_shift(int e) {
  return 8 * (e / 2) + (e % 2 == 0 ? 4 : 0);
}

// Copies the levels to shared memory; every thread of the block calls it. One thread, at
// constant indices: indexing the parameter by thread would copy it to local memory.
__device__ __forceinline__ void stage_levels(const Levels& levels, float* shared) {
  if (threadIdx.x == 0) {
#pragma unroll
    for (int i = 0; i < 16; ++i) shared[i] = levels.value[i];
  }
  __syncthreads();
}

using cuda::from_float;
using cuda::to_float;

template <class Pair>
__device__ __forceinline__ uint32_t bits_of(Pair pair) {
  uint32_t bits;
  memcpy(&bits, &pair, sizeof(bits));
  return bits;
}

// 16 bytes of output at a 16-byte aligned address, each value rounded to nearest even.
__device__ __forceinline__ void store16(float* out, const float (&v)[4]) {
  *reinterpret_cast<float4*>(out) = make_float4(v[0], v[1], v[2], v[3]);
}
__device__ __forceinline__ void store16(__half* out, const float (&v)[8]) {
  *reinterpret_cast<uint4*>(out) =
      make_uint4(bits_of(__floats2half2_rn(v[0], v[1])), bits_of(__floats2half2_rn(v[2], v[3])),
                 bits_of(__floats2half2_rn(v[4], v[5])), bits_of(__floats2half2_rn(v[6], v[7])));
}
__device__ __forceinline__ void store16(__nv_bfloat16* out, const float (&v)[8]) {
  *reinterpret_cast<uint4*>(out) = make_uint4(
      bits_of(__floats2bfloat162_rn(v[0], v[1])), bits_of(__floats2bfloat162_rn(v[2], v[3])),
      bits_of(__floats2bfloat162_rn(v[4], v[5])), bits_of(__floats2bfloat162_rn(v[6], v[7])));
}

// 8 consecutive values of x as floats, from a 16-byte aligned address, through L1.
__device__ __forceinline__ void load8(const float* p, float (&v)[8]) {
  const float4 a = __ldg(reinterpret_cast<const float4*>(p));
  const float4 b = __ldg(reinterpret_cast<const float4*>(p) + 1);
  v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
}
__device__ __forceinline__ void load8(const __half* p, float (&v)[8]) {
  const uint4 raw = __ldg(reinterpret_cast<const uint4*>(p));
  const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    __half2 pair;
    memcpy(&pair, &words[k], sizeof(pair));
    const float2 f = __half22float2(pair);
    v[2 * k] = f.x, v[2 * k + 1] = f.y;
  }
}
__device__ __forceinline__ void load8(const __nv_bfloat16* p, float (&v)[8]) {
  const uint4 raw = __ldg(reinterpret_cast<const uint4*>(p));
  const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
  for (int k = 0; k < 4; ++k) {  // a bf16 is the top half of its float
    v[2 * k] = __uint_as_float(words[k] << 16);
    v[2 * k + 1] = __uint_as_float(words[k] & 0xffff0000u);
  }
}

// 16 packed bytes read once: not kept in L1, which holds x.
__device__ __forceinline__ uint4 load_codes(const uint4* p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(p));
  return v;
#else
  return __ldg(p);
#endif
}

__device__ __forceinline__ uint32_t word_of(const uint4& q, int k) {
  return k == 0 ? q.x : k == 1 ? q.y : k == 2 ? q.z : q.w;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// ---- kernels -------------------------------------------------------------------------

template <typename T, bool kAligned>
__global__ void __launch_bounds__(kDequantizeThreads)
    dequantize_kernel(LayerArgs layer, int64_t items, T* __restrict__ weight, Levels levels) {
  constexpr int kValues = 16 / sizeof(T);  // a thread's values: 16 bytes of output
  __shared__ float level[16];
  stage_levels(levels, level);
  const int64_t item = static_cast<int64_t>(blockIdx.x) * kDequantizeThreads + threadIdx.x;
  if (item >= items) return;
  const int64_t first = item * kValues;
  uint32_t codes;
  if constexpr (kValues == 4)
    codes = __ldg(reinterpret_cast<const unsigned short*>(layer.packed) + item);
  else
    codes = __ldg(reinterpret_cast<const unsigned int*>(layer.packed) + item);
  // kValues divides 32, so a thread's values share one block.
  const float absmax = block_absmax(layer.absmax, first >> layer.block_shift);
  float v[kValues];
#pragma unroll
  for (int e = 0; e < kValues; ++e)
    v[e] = __fmul_rn(level[(codes >> nibble_shift(e)) & 15u], absmax);
  T* out = weight + first;
  if constexpr (kAligned) {
    store16(out, v);
  } else {
#pragma unroll
    for (int e = 0; e < kValues; ++e) out[e] = from_float<T>(v[e]);
  }
}

// in a multiple of 32, x 16-byte aligned, packed 16-byte aligned (Note [NF4 CUDA kernels]).
template <typename T, int kTokens>
__global__ void __launch_bounds__(kMatvecWarps * 32)
    matvec_kernel(LayerArgs layer, const T* __restrict__ x, T* __restrict__ y, Levels levels) {
  __shared__ float level[16];
  stage_levels(levels, level);
  const int lane = threadIdx.x % 32;
  const int64_t row0 =
      (static_cast<int64_t>(blockIdx.x) * kMatvecWarps + threadIdx.x / 32) * kRowsPerWarp;
  if (row0 >= layer.out) return;  // the whole warp
  const int64_t in = layer.in, chunks = in / kChunk;
  // A row past the end repeats the last one, its sums never written.
  int64_t rows[kRowsPerWarp];
  const uint4* codes[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    rows[r] = row0 + r < layer.out ? row0 + r : layer.out - 1;
    codes[r] = reinterpret_cast<const uint4*>(layer.packed + rows[r] * (in / 2));
  }

  float acc[kRowsPerWarp][kTokens] = {};
  uint4 next[kRowsPerWarp];
  AbsmaxLoad next_absmax[kRowsPerWarp];
  if (lane < chunks) {
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      next[r] = load_codes(codes[r] + lane);
      next_absmax[r] =
          load_absmax(layer.absmax, (rows[r] * in + lane * kChunk) >> layer.block_shift);
    }
  }
  for (int64_t c = lane; c < chunks; c += 32) {
    uint4 q[kRowsPerWarp];
    AbsmaxLoad absmax[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) q[r] = next[r], absmax[r] = next_absmax[r];
    if (c + 32 < chunks) {
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        next[r] = load_codes(codes[r] + c + 32);
        next_absmax[r] =
            load_absmax(layer.absmax, (rows[r] * in + (c + 32) * kChunk) >> layer.block_shift);
      }
    }
    float sums[kRowsPerWarp][kTokens] = {};
    const T* x_chunk = x + c * kChunk;
#pragma unroll
    for (int k = 0; k < 4; ++k) {  // 8 elements: one word of each row's codes
      float xs[kTokens][8];
#pragma unroll
      for (int t = 0; t < kTokens; ++t) load8(x_chunk + t * in + 8 * k, xs[t]);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const uint32_t word = word_of(q[r], k);
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const float lv = level[(word >> nibble_shift(e)) & 15u];
#pragma unroll
          for (int t = 0; t < kTokens; ++t) sums[r][t] = fmaf(xs[t][e], lv, sums[r][t]);
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const float a = finish_absmax(layer.absmax, absmax[r]);
#pragma unroll
      for (int t = 0; t < kTokens; ++t) acc[r][t] = fmaf(sums[r][t], a, acc[r][t]);
    }
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int t = 0; t < kTokens; ++t) {
      const float total = warp_sum(acc[r][t]);
      if (lane == r * kTokens + t && row0 + r < layer.out)
        y[t * layer.out + row0 + r] = from_float<T>(total);
    }
}

// Any layout and any x: a warp a row, a lane per element.
template <typename T>
__global__ void __launch_bounds__(kMatvecWarps * 32)
    matvec_any_kernel(LayerArgs layer, const T* __restrict__ x, int tokens, T* __restrict__ y,
                      Levels levels) {
  __shared__ float level[16];
  stage_levels(levels, level);
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kMatvecWarps + threadIdx.x / 32;
  if (row >= layer.out) return;  // the whole warp
  float acc[kNf4MatvecMaxTokens] = {};
  for (int64_t j = lane; j < layer.in; j += 32) {
    const int64_t i = row * layer.in + j;
    const uint32_t byte = __ldg(layer.packed + i / 2);
    const uint32_t code = i % 2 == 0 ? byte >> 4 : byte & 15u;
    const float w = __fmul_rn(level[code], block_absmax(layer.absmax, i >> layer.block_shift));
#pragma unroll
    for (int t = 0; t < kNf4MatvecMaxTokens; ++t)
      if (t < tokens) acc[t] = fmaf(to_float(x[t * layer.in + j]), w, acc[t]);
  }
#pragma unroll
  for (int t = 0; t < kNf4MatvecMaxTokens; ++t) {
    if (t >= tokens) break;  // the same for the whole warp
    const float total = warp_sum(acc[t]);
    if (lane == 0) y[t * layer.out + row] = from_float<T>(total);
  }
}

// ---- launches ------------------------------------------------------------------------

// The kernels' arguments for `layer`, checked.
LayerArgs layer_args(const Nf4StoredView& layer) {
  const std::string shape =
      "[" + std::to_string(layer.out_features) + ", " + std::to_string(layer.in_features) + "]";
  if (layer.out_features <= 0 || layer.in_features <= 0)
    refuse("the layer's shape " + shape + " is not two positive sizes");
  const int block_shift = exact_log2(layer.block_size);
  if (block_shift < 5 || block_shift > 12)
    refuse("the layer's block size " + std::to_string(layer.block_size) +
           " is not a power of two from 32 to 4096");
  if (layer.elements() % layer.block_size != 0)
    refuse("the layer's shape " + shape + " is not a whole number of blocks of " +
           std::to_string(layer.block_size));
  if (layer.packed == nullptr || !aligned16(layer.packed))
    refuse("the layer's packed codes must be a 16-byte aligned device pointer");
  LayerArgs args{layer.packed, {}, block_shift, layer.out_features, layer.in_features};
  if (!layer.double_quant) {
    if (layer.absmax == nullptr) refuse("the layer's absmax is null");
    args.absmax.values = layer.absmax;
    return args;
  }
  if (layer.absmax_codes == nullptr || layer.nested_absmax == nullptr ||
      layer.nested_map == nullptr)
    refuse(
        "the layer is double-quantized, but its absmax codes, nested absmax or nested map "
        "is null");
  if (layer.nested_block_size <= 0)
    refuse("the layer's nested block size " + std::to_string(layer.nested_block_size) +
           " is not positive");
  args.absmax.codes = layer.absmax_codes;
  args.absmax.nested = layer.nested_absmax;
  args.absmax.map = layer.nested_map;
  args.absmax.offset = layer.nested_offset;
  args.absmax.nested_shift = exact_log2(layer.nested_block_size);
  args.absmax.nested_block_size = layer.nested_block_size;
  return args;
}

unsigned int grid_of(int64_t blocks) {
  if (blocks > INT_MAX)
    refuse("the layer is too large for one launch (" + std::to_string(blocks) + " blocks)");
  return static_cast<unsigned int>(blocks);
}

template <typename T>
void launch_dequantize(const LayerArgs& args, int64_t elements, void* weight, cudaStream_t stream) {
  constexpr int64_t kValues = 16 / sizeof(T);
  const int64_t items = elements / kValues;  // elements is a multiple of 32
  const unsigned int grid = grid_of((items + kDequantizeThreads - 1) / kDequantizeThreads);
  T* out = static_cast<T*>(weight);
  if (aligned16(weight))
    dequantize_kernel<T, true>
        <<<grid, kDequantizeThreads, 0, stream>>>(args, items, out, nf4_levels());
  else
    dequantize_kernel<T, false>
        <<<grid, kDequantizeThreads, 0, stream>>>(args, items, out, nf4_levels());
  check(cudaGetLastError(), "launching the NF4 dequantize kernel");
}

template <typename T, int kTokens>
void launch_matvec_tokens(const LayerArgs& args, const T* x, T* y, cudaStream_t stream) {
  const int64_t rows_per_block = kMatvecWarps * kRowsPerWarp;
  const unsigned int grid = grid_of((args.out + rows_per_block - 1) / rows_per_block);
  matvec_kernel<T, kTokens><<<grid, kMatvecWarps * 32, 0, stream>>>(args, x, y, nf4_levels());
}

// One launch of at most kNf4MatvecMaxTokens tokens.
template <typename T>
void launch_matvec(const LayerArgs& args, const T* x, int tokens, T* y, cudaStream_t stream) {
  if (args.in % kChunk == 0 && aligned16(x)) {
    switch (tokens) {
      case 1:
        launch_matvec_tokens<T, 1>(args, x, y, stream);
        break;
      case 2:
        launch_matvec_tokens<T, 2>(args, x, y, stream);
        break;
      case 3:
        launch_matvec_tokens<T, 3>(args, x, y, stream);
        break;
      case 4:
        launch_matvec_tokens<T, 4>(args, x, y, stream);
        break;
      case 5:
        launch_matvec_tokens<T, 5>(args, x, y, stream);
        break;
      case 6:
        launch_matvec_tokens<T, 6>(args, x, y, stream);
        break;
      case 7:
        launch_matvec_tokens<T, 7>(args, x, y, stream);
        break;
      default:
        launch_matvec_tokens<T, 8>(args, x, y, stream);
        break;
    }
  } else {
    const unsigned int grid = grid_of((args.out + kMatvecWarps - 1) / kMatvecWarps);
    matvec_any_kernel<T><<<grid, kMatvecWarps * 32, 0, stream>>>(args, x, tokens, y, nf4_levels());
  }
  check(cudaGetLastError(), "launching the NF4 matvec kernel");
}

template <typename T>
void run_matmul(const LayerArgs& args, const void* x, int64_t tokens, void* y,
                cudaStream_t stream) {
  for (int64_t first = 0; first < tokens; first += kNf4MatvecMaxTokens) {
    const int count = static_cast<int>(std::min<int64_t>(kNf4MatvecMaxTokens, tokens - first));
    launch_matvec<T>(args, static_cast<const T*>(x) + first * args.in, count,
                     static_cast<T*>(y) + first * args.out, stream);
  }
}

}  // namespace

bool nf4_cuda_kernels_compiled() {
  return true;
}

void nf4_dequantize_cuda(const Nf4StoredView& layer, CudaDtype dtype, void* weight, void* stream) {
  const LayerArgs args = layer_args(layer);
  if (weight == nullptr) refuse("weight must be a device pointer, got null");
  const auto s = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case CudaDtype::f32:
      return launch_dequantize<float>(args, layer.elements(), weight, s);
    case CudaDtype::f16:
      return launch_dequantize<__half>(args, layer.elements(), weight, s);
    case CudaDtype::bf16:
      return launch_dequantize<__nv_bfloat16>(args, layer.elements(), weight, s);
  }
  refuse("unknown dtype " + std::to_string(static_cast<int>(dtype)));
}

void nf4_matmul_cuda(const Nf4StoredView& layer, CudaDtype dtype, const void* x, int64_t tokens,
                     void* y, void* stream) {
  const LayerArgs args = layer_args(layer);
  if (tokens < 0) refuse(std::to_string(tokens) + " tokens");
  if (tokens == 0) return;
  if (x == nullptr || y == nullptr) refuse("x and y must be device pointers, got null");
  const auto s = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case CudaDtype::f32:
      return run_matmul<float>(args, x, tokens, y, s);
    case CudaDtype::f16:
      return run_matmul<__half>(args, x, tokens, y, s);
    case CudaDtype::bf16:
      return run_matmul<__nv_bfloat16>(args, x, tokens, y, s);
  }
  refuse("unknown dtype " + std::to_string(static_cast<int>(dtype)));
}

}  // namespace lmf::quant::nf4
