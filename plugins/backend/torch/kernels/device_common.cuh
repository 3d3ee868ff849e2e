// Device helpers the backend's CUDA kernels share: fp32 <-> element type conversions
// that round as libtorch rounds, 16-byte vectors, a block-wide sum, SiLU, launch checks
// and the dtype dispatch of launchers (Dtype: kernels/fused_kernels.h).
// Included by the .cu files only (internal linkage: each kernel library compiles its own).
#pragma once

#include "kernels/fused_kernels.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace lmf::torch_backend::kernels {
namespace {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// The value libtorch would hold after an operation whose result has type T.
template <typename T>
__device__ __forceinline__ float rounded(float x) { return to_float(from_float<T>(x)); }

template <typename T>
struct alignas(16) Vec {
  static constexpr int kSize = 16 / sizeof(T);
  T v[kSize];
};

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ float block_sum(float value) {
  __shared__ float partial[32];
  __shared__ float total;
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // `partial` may still be read by a previous call
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : 0.f;
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_xor_sync(0xffffffffu, value, offset);
    if (lane == 0) total = value;
  }
  __syncthreads();
  return total;
}

int threads_for(int64_t vectors) {
  return static_cast<int>(std::min<int64_t>(1024, std::max<int64_t>(32, (vectors + 31) / 32 * 32)));
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

// RMSNorm of one row by the whole block, as transformers rounds it: y = w * to_dtype(x *
// rstd), rstd = 1/sqrt(mean(x²) + eps) in fp32 (returned). y may be shared memory.
template <typename T>
__device__ float rms_norm_row(const Vec<T>* x, const Vec<T>* w, Vec<T>* y, int64_t width, float eps) {
  constexpr int V = Vec<T>::kSize;
  const int64_t vectors = width / V;
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < vectors; i += blockDim.x) {
    const Vec<T> v = x[i];
#pragma unroll
    for (int j = 0; j < V; ++j) sum += to_float(v.v[j]) * to_float(v.v[j]);
  }
  const float r = rsqrtf(block_sum(sum) * (1.f / static_cast<float>(width)) + eps);
  for (int64_t i = threadIdx.x; i < vectors; i += blockDim.x) {
    const Vec<T> v = x[i], g = w[i];
    Vec<T> out;
#pragma unroll
    for (int j = 0; j < V; ++j) out.v[j] = from_float<T>(to_float(g.v[j]) * rounded<T>(to_float(v.v[j]) * r));
    y[i] = out;
  }
  return r;
}

// libtorch's silu: x / (1 + exp(-x)) in fp32.
__device__ __forceinline__ float silu(float x) { return x / (1.f + expf(-x)); }

int grid_for(int64_t work, int threads) {
  return static_cast<int>(std::min<int64_t>((work + threads - 1) / threads, 65535 * 8));
}

template <typename F>
void dispatch(Dtype dtype, F&& launch) {
  switch (dtype) {
    case Dtype::f32: launch(float{}); break;
    case Dtype::f16: launch(__half{}); break;
    case Dtype::bf16: launch(__nv_bfloat16{}); break;
  }
}

}  // namespace
}  // namespace lmf::torch_backend::kernels
