// Note [Fused kernels]
// transformers' RMSNorm is 7 elementwise/reduction kernels and keeps an fp32 copy of its
// input for the backward pass; SiLU·up is 2 kernels keeping 3 tensors; the rotary
// embedding about 10. On a decode step these small kernels cost more than the weights'
// read (docs/benchmarks.md), and in training they hold most of the activation memory.
// Each is one kernel here, forward and backward, computing in fp32 and rounding where
// libtorch rounds (after each operation in the activations' dtype), so that outputs match
// the unfused path: bit for bit for SwiGLU and the rotary embedding, and for RMSNorm up to
// the order of the row's sum of squares.
#include "kernels/fused_kernels.h"

#include "kernels/device_common.cuh"

namespace lmf::torch_backend::kernels {
namespace {

// ---- RMSNorm ----------------------------------------------------------------------

template <typename T>
__global__ void rms_norm_forward_kernel(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y,
                                        float* __restrict__ rstd, int64_t width, float eps) {
  const float r = rms_norm_row(reinterpret_cast<const Vec<T>*>(x + blockIdx.x * width), reinterpret_cast<const Vec<T>*>(w),
                               reinterpret_cast<Vec<T>*>(y + blockIdx.x * width), width, eps);
  if (threadIdx.x == 0) rstd[blockIdx.x] = r;
}

constexpr int kNormMaxVectorsPerThread = 4;
constexpr int kNormBackwardThreads = 256;  // x, dn and dw of 4 vectors each stay in registers
constexpr int64_t kNormBackwardMaxBlocks = 1024;

// One block walks rows blockIdx.x, blockIdx.x + gridDim.x, ...; each thread keeps its
// columns' dw sums in registers and writes them once.
template <typename T>
__global__ void __launch_bounds__(kNormBackwardThreads) rms_norm_backward_kernel(const T* __restrict__ dy, const T* __restrict__ x, const T* __restrict__ w,
                                         const float* __restrict__ rstd, T* __restrict__ dx,
                                         float* __restrict__ dw_partial, int64_t rows, int64_t width) {
  constexpr int V = Vec<T>::kSize;
  constexpr int K = kNormMaxVectorsPerThread;
  const int64_t vectors = width / V;
  const Vec<T>* weight = reinterpret_cast<const Vec<T>*>(w);
  float dw[K][V] = {};
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const Vec<T>* row_dy = reinterpret_cast<const Vec<T>*>(dy + row * width);
    const Vec<T>* row_x = reinterpret_cast<const Vec<T>*>(x + row * width);
    const float r = rstd[row];
    float xs[K][V], dn[K][V];
    float dot = 0.f;
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int64_t i = threadIdx.x + k * static_cast<int64_t>(blockDim.x);
      if (i >= vectors) break;
      const Vec<T> vx = row_x[i], vdy = row_dy[i], g = weight[i];
#pragma unroll
      for (int j = 0; j < V; ++j) {
        xs[k][j] = to_float(vx.v[j]);
        const float grad = to_float(vdy.v[j]);
        dn[k][j] = grad * to_float(g.v[j]);
        dot += dn[k][j] * xs[k][j];
        if (dw_partial != nullptr) dw[k][j] += grad * rounded<T>(xs[k][j] * r);
      }
    }
    // d/dx_j of x_j·rstd: rstd·dn_j − rstd³·x_j·Σ dn_i x_i / width.
    const float correction = block_sum(dot) * r * r * r / static_cast<float>(width);
    Vec<T>* row_dx = reinterpret_cast<Vec<T>*>(dx + row * width);
#pragma unroll
    for (int k = 0; k < K; ++k) {
      const int64_t i = threadIdx.x + k * static_cast<int64_t>(blockDim.x);
      if (i >= vectors) break;
      Vec<T> out;
#pragma unroll
      for (int j = 0; j < V; ++j) out.v[j] = from_float<T>(r * dn[k][j] - correction * xs[k][j]);
      row_dx[i] = out;
    }
  }
  if (dw_partial == nullptr) return;
#pragma unroll
  for (int k = 0; k < K; ++k) {
    const int64_t i = threadIdx.x + k * static_cast<int64_t>(blockDim.x);
    if (i >= vectors) break;
#pragma unroll
    for (int j = 0; j < V; ++j) dw_partial[blockIdx.x * width + i * V + j] = dw[k][j];
  }
}

// ---- SwiGLU -----------------------------------------------------------------------

__device__ __forceinline__ float sigmoid(float x) { return 1.f / (1.f + expf(-x)); }

template <typename T>
__global__ void swiglu_forward_kernel(const T* __restrict__ gate, int64_t gate_stride, const T* __restrict__ up,
                                      int64_t up_stride, T* __restrict__ out, int64_t rows, int64_t width) {
  constexpr int V = Vec<T>::kSize;
  const int64_t per_row = width / V, total = rows * per_row;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / per_row, col = (i % per_row) * V;
    const Vec<T> g = *reinterpret_cast<const Vec<T>*>(gate + row * gate_stride + col);
    const Vec<T> u = *reinterpret_cast<const Vec<T>*>(up + row * up_stride + col);
    Vec<T> o;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      // silu rounded to T, then the product rounded, as two libtorch kernels round.
      o.v[j] = from_float<T>(rounded<T>(silu(to_float(g.v[j]))) * to_float(u.v[j]));
    }
    *reinterpret_cast<Vec<T>*>(out + row * width + col) = o;
  }
}

template <typename T>
__global__ void swiglu_backward_kernel(const T* __restrict__ d_out, const T* __restrict__ gate, int64_t gate_stride,
                                       const T* __restrict__ up, int64_t up_stride, T* __restrict__ d_gate,
                                       int64_t d_gate_stride, T* __restrict__ d_up, int64_t d_up_stride, int64_t rows,
                                       int64_t width) {
  constexpr int V = Vec<T>::kSize;
  const int64_t per_row = width / V, total = rows * per_row;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / per_row, col = (i % per_row) * V;
    const Vec<T> dy = *reinterpret_cast<const Vec<T>*>(d_out + row * width + col);
    const Vec<T> g = *reinterpret_cast<const Vec<T>*>(gate + row * gate_stride + col);
    const Vec<T> u = *reinterpret_cast<const Vec<T>*>(up + row * up_stride + col);
    Vec<T> dg, du;
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const float x = to_float(g.v[j]), grad = to_float(dy.v[j]);
      const float s = sigmoid(x);
      du.v[j] = from_float<T>(grad * rounded<T>(silu(x)));
      // libtorch's silu_backward on the rounded gradient of silu's output.
      dg.v[j] = from_float<T>(rounded<T>(grad * to_float(u.v[j])) * s * (1.f + x * (1.f - s)));
    }
    *reinterpret_cast<Vec<T>*>(d_gate + row * d_gate_stride + col) = dg;
    *reinterpret_cast<Vec<T>*>(d_up + row * d_up_stride + col) = du;
  }
}

// ---- Rotary embedding -------------------------------------------------------------

template <typename T>
__global__ void rope_kernel(const T* __restrict__ x, const T* __restrict__ cos, const T* __restrict__ sin,
                            T* __restrict__ out, RopeShape shape, bool inverse) {
  const int64_t half = shape.head_dim / 2;
  const int64_t total = shape.batch * shape.heads * shape.steps * half;
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = index % half;
    int64_t rest = index / half;
    const int64_t t = rest % shape.steps;
    rest /= shape.steps;
    const int64_t h = rest % shape.heads, b = rest / shape.heads;
    const T* in = x + b * shape.in_strides[0] + h * shape.in_strides[1] + t * shape.in_strides[2];
    T* o = out + b * shape.out_strides[0] + h * shape.out_strides[1] + t * shape.out_strides[2];
    const int64_t angle = (b * shape.steps + t) * shape.head_dim;
    const float x1 = to_float(in[i]), x2 = to_float(in[i + half]);
    const float c1 = to_float(cos[angle + i]), c2 = to_float(cos[angle + i + half]);
    const float s1 = to_float(sin[angle + i]), s2 = to_float(sin[angle + i + half]);
    // __fmul_rn: each product rounded on its own, as libtorch's separate kernels round
    // it (in fp32 the compiler would otherwise fuse product and sum into one FMA).
    if (!inverse) {  // x·cos + cat(−x2, x1)·sin
      o[i] = from_float<T>(rounded<T>(__fmul_rn(x1, c1)) + rounded<T>(__fmul_rn(-x2, s1)));
      o[i + half] = from_float<T>(rounded<T>(__fmul_rn(x2, c2)) + rounded<T>(__fmul_rn(x1, s2)));
    } else {  // dy·cos + the adjoint of cat(−x2, x1) applied to dy·sin
      o[i] = from_float<T>(rounded<T>(__fmul_rn(x1, c1)) + rounded<T>(__fmul_rn(x2, s2)));
      o[i + half] = from_float<T>(rounded<T>(__fmul_rn(x2, c2)) - rounded<T>(__fmul_rn(x1, s1)));
    }
  }
}

template <typename T>
__global__ void rope_and_store_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                      const T* __restrict__ cos, const T* __restrict__ sin, T* __restrict__ q_out,
                                      T* __restrict__ k_cache, T* __restrict__ v_cache,
                                      const int64_t* __restrict__ slot, RopeStoreShape shape) {
  const int64_t half = shape.head_dim / 2, rows = shape.heads + 2 * shape.kv_heads;
  const int64_t total = shape.batch * rows * half;
  const int64_t position = *slot;
  for (int64_t index = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; index < total;
       index += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = index % half, row = (index / half) % rows, b = index / (half * rows);
    const T* angle_cos = cos + b * shape.head_dim;
    const T* angle_sin = sin + b * shape.head_dim;
    const T* in;
    T* out;
    bool rotate = true;
    if (row < shape.heads) {
      in = q + b * shape.q_strides[0] + row * shape.q_strides[1];
      out = q_out + b * shape.q_out_strides[0] + row * shape.q_out_strides[1];
    } else if (row < shape.heads + shape.kv_heads) {
      const int64_t h = row - shape.heads;
      in = k + b * shape.k_strides[0] + h * shape.k_strides[1];
      out = k_cache + b * shape.cache_strides[0] + h * shape.cache_strides[1] + position * shape.cache_strides[2];
    } else {
      const int64_t h = row - shape.heads - shape.kv_heads;
      in = v + b * shape.v_strides[0] + h * shape.v_strides[1];
      out = v_cache + b * shape.cache_strides[0] + h * shape.cache_strides[1] + position * shape.cache_strides[2];
      rotate = false;
    }
    if (!rotate) {
      out[i] = in[i];
      out[i + half] = in[i + half];
      continue;
    }
    const float x1 = to_float(in[i]), x2 = to_float(in[i + half]);
    const float c1 = to_float(angle_cos[i]), c2 = to_float(angle_cos[i + half]);
    const float s1 = to_float(angle_sin[i]), s2 = to_float(angle_sin[i + half]);
    out[i] = from_float<T>(rounded<T>(__fmul_rn(x1, c1)) + rounded<T>(__fmul_rn(-x2, s1)));
    out[i + half] = from_float<T>(rounded<T>(__fmul_rn(x2, c2)) + rounded<T>(__fmul_rn(x1, s2)));
  }
}

}  // namespace

int vector_width(Dtype dtype) {
  return dtype == Dtype::f32 ? 4 : 8;
}

void rms_norm_forward(Dtype dtype, const void* x, const void* w, void* y, float* rstd, int64_t rows, int64_t width,
                      float eps, void* stream) {
  if (rows == 0) return;
  const int threads = threads_for(width / vector_width(dtype));
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    rms_norm_forward_kernel<T><<<static_cast<unsigned>(rows), threads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(y), rstd, width, eps);
  });
  check(cudaGetLastError(), "rms_norm_forward");
}

int64_t rms_norm_backward_blocks(int64_t rows) {
  return std::max<int64_t>(1, std::min(rows, kNormBackwardMaxBlocks));
}

int64_t rms_norm_max_width(Dtype dtype) {
  return static_cast<int64_t>(kNormBackwardThreads) * kNormMaxVectorsPerThread * vector_width(dtype);
}

void rms_norm_backward(Dtype dtype, const void* dy, const void* x, const void* w, const float* rstd, void* dx,
                       float* dw_partial, int64_t rows, int64_t width, void* stream) {
  if (rows == 0) return;
  const int64_t vectors = width / vector_width(dtype);
  const int threads = std::min(kNormBackwardThreads, threads_for(vectors));
  if (vectors > static_cast<int64_t>(threads) * kNormMaxVectorsPerThread)
    throw std::runtime_error("rms_norm_backward: rows of " + std::to_string(width) + " elements are too wide");
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    rms_norm_backward_kernel<T><<<static_cast<unsigned>(rms_norm_backward_blocks(rows)), threads, 0,
                                  static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(dy), static_cast<const T*>(x), static_cast<const T*>(w), rstd, static_cast<T*>(dx),
        dw_partial, rows, width);
  });
  check(cudaGetLastError(), "rms_norm_backward");
}

void swiglu_forward(Dtype dtype, const void* gate, int64_t gate_stride, const void* up, int64_t up_stride, void* out,
                    int64_t rows, int64_t width, void* stream) {
  const int64_t work = rows * width / vector_width(dtype);
  if (work == 0) return;
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    swiglu_forward_kernel<T><<<grid_for(work, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(gate), gate_stride, static_cast<const T*>(up), up_stride, static_cast<T*>(out), rows,
        width);
  });
  check(cudaGetLastError(), "swiglu_forward");
}

void swiglu_backward(Dtype dtype, const void* d_out, const void* gate, int64_t gate_stride, const void* up,
                     int64_t up_stride, void* d_gate, int64_t d_gate_stride, void* d_up, int64_t d_up_stride,
                     int64_t rows, int64_t width, void* stream) {
  const int64_t work = rows * width / vector_width(dtype);
  if (work == 0) return;
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    swiglu_backward_kernel<T><<<grid_for(work, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(d_out), static_cast<const T*>(gate), gate_stride, static_cast<const T*>(up), up_stride,
        static_cast<T*>(d_gate), d_gate_stride, static_cast<T*>(d_up), d_up_stride, rows, width);
  });
  check(cudaGetLastError(), "swiglu_backward");
}

void rope(Dtype dtype, const void* x, const void* cos, const void* sin, void* out, const RopeShape& shape,
          bool inverse, void* stream) {
  const int64_t work = shape.batch * shape.heads * shape.steps * (shape.head_dim / 2);
  if (work == 0) return;
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    rope_kernel<T><<<grid_for(work, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(x), static_cast<const T*>(cos), static_cast<const T*>(sin), static_cast<T*>(out), shape,
        inverse);
  });
  check(cudaGetLastError(), "rope");
}

void rope_and_store(Dtype dtype, const void* q, const void* k, const void* v, const void* cos, const void* sin,
                    void* q_out, void* k_cache, void* v_cache, const int64_t* slot, const RopeStoreShape& shape,
                    void* stream) {
  const int64_t work = shape.batch * (shape.heads + 2 * shape.kv_heads) * (shape.head_dim / 2);
  if (work == 0) return;
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    rope_and_store_kernel<T><<<grid_for(work, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v), static_cast<const T*>(cos),
        static_cast<const T*>(sin), static_cast<T*>(q_out), static_cast<T*>(k_cache), static_cast<T*>(v_cache), slot,
        shape);
  });
  check(cudaGetLastError(), "rope_and_store");
}

}  // namespace lmf::torch_backend::kernels
