// The cross-entropy of rows of logits with the gradient written over them, one block per
// row (Note [Gradient in the forward pass], training/lm_loss.h). Two reads of the row,
// from L2 or HBM: the first keeps a running max and sum of exp (online softmax), the
// second writes softmax − one-hot. Every value is computed in fp32 from the row's
// elements; the gradient is rounded once to the dtype (round to nearest even), as
// libtorch rounds the fp32 (softmax − one-hot) of the composite path when it casts it.
// exp is exp2f of x·log2(e) − the row's shift in log2 units (one FMA and the hardware's
// ex2 per element): the result differs from libtorch's expf by a few fp32 ulps for
// moderate logits and by up to ~1.5e-5 relative at |logit| ≈ 100 (the FMA's cancellation
// against the shift) — below a bf16 or fp16 rounding, at the fp32 tests' 1e-5 scale.
#include "kernels/cross_entropy_kernels.h"

#include "kernels/device_common.cuh"

#include <cmath>

namespace lmf::torch_backend::kernels {
namespace {

constexpr float kLog2e = 1.4426950408889634f;
// Two blocks of 512 per SM: one block's barrier or tail overlaps the other's reads. On an
// H100, 4096 rows of 151,936 bf16 logits take 1.2 ms: 2.9 TB/s counting both reads and
// the write, about what a device-to-device copy moves.
constexpr int kThreads = 512;

// W elements read or written as one (16 bytes for the vector path, one element else).
template <typename T, int W>
struct alignas(sizeof(T) * W) Pack {
  T v[W];
};

// A running max and Σ exp(x − max) over part of a row.
struct MaxSum {
  float max, sum;
};

__device__ __forceinline__ MaxSum combine(MaxSum a, MaxSum b) {
  const float max = fmaxf(a.max, b.max);
  if (max == -INFINITY) return {max, 0.f};  // both empty: no (−inf) − (−inf)
  return {max, a.sum * exp2f((a.max - max) * kLog2e) + b.sum * exp2f((b.max - max) * kLog2e)};
}

__device__ __forceinline__ MaxSum warp_max_sum(MaxSum value) {
  for (int offset = 16; offset > 0; offset /= 2)
    value = combine(value, {__shfl_xor_sync(0xffffffffu, value.max, offset),
                            __shfl_xor_sync(0xffffffffu, value.sum, offset)});
  return value;
}

// The row's max and sum over the block (blockDim.x a multiple of 32); every thread gets
// it. Called once per block.
__device__ MaxSum block_max_sum(MaxSum value) {
  __shared__ MaxSum partial[32];
  __shared__ MaxSum total;
  value = warp_max_sum(value);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  if (warp == 0) {
    value = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : MaxSum{-INFINITY, 0.f};
    value = warp_max_sum(value);
    if (lane == 0) total = value;
  }
  __syncthreads();
  return total;
}

template <typename T, int W>
__device__ void write_zeros(Pack<T, W>* row, int64_t packs) {
  Pack<T, W> zero;
#pragma unroll
  for (int j = 0; j < W; ++j) zero.v[j] = from_float<T>(0.f);
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) row[i] = zero;
}

template <typename T, int W>
__global__ void __launch_bounds__(kThreads, 2)
    cross_entropy_rows_kernel(T* __restrict__ logits, int64_t row_stride,
                              const int64_t* __restrict__ labels, int64_t ignore_index,
                              float* __restrict__ nll, float* __restrict__ lse, int64_t vocab,
                              bool write_grad) {
  using P = Pack<T, W>;
  const int64_t row = blockIdx.x, packs = vocab / W;
  T* const row_start = logits + row * row_stride;
  P* const x = reinterpret_cast<P*>(row_start);
  const int64_t label = labels[row];
  const bool ignored = label == ignore_index;
  if (ignored && lse == nullptr) {  // nothing needs the row's values: not read at all
    if (threadIdx.x == 0) nll[row] = 0.f;
    if (write_grad) write_zeros(x, packs);
    return;
  }
  const bool in_vocab = label >= 0 && label < vocab;
  // Read before thread 0 reaches block_max_sum's barriers; every write to the row comes
  // after them.
  const float target = threadIdx.x == 0 && in_vocab ? to_float(row_start[label]) : 0.f;

  // Pass 1: per thread, the max of what it read and Σ exp(x − max), rescaled when the max
  // grows. (−inf logits are not expected: a row of them gives NaN, as (−inf) − (−inf).)
  MaxSum acc{-INFINITY, 0.f};
#pragma unroll 4
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    const P v = x[i];
    float f[W];
    float max = acc.max;
#pragma unroll
    for (int j = 0; j < W; ++j) {
      f[j] = to_float(v.v[j]);
      max = fmaxf(max, f[j]);
    }
    const float shift = max * kLog2e;
    float sum = acc.sum * exp2f(fmaf(acc.max, kLog2e, -shift));
#pragma unroll
    for (int j = 0; j < W; ++j) sum += exp2f(fmaf(f[j], kLog2e, -shift));
    acc = {max, sum};
  }
  const MaxSum total = block_max_sum(acc);
  if (threadIdx.x == 0) {
    const float row_lse = total.max + logf(total.sum);
    nll[row] = ignored ? 0.f : in_vocab ? row_lse - target : NAN;
    if (lse != nullptr) lse[row] = row_lse;
  }
  if (!write_grad) return;
  if (ignored) {
    write_zeros(x, packs);
    return;
  }

  // Pass 2: softmax = exp2(x·log2 e − log2 Σ exp(x)), minus 1 at the label.
  const float log2_total = fmaf(total.max, kLog2e, log2f(total.sum));
#pragma unroll 4
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    const P v = x[i];
    P grad;
#pragma unroll
    for (int j = 0; j < W; ++j) {
      const float p = exp2f(fmaf(to_float(v.v[j]), kLog2e, -log2_total));
      grad.v[j] = from_float<T>(i * W + j == label ? p - 1.f : p);
    }
    x[i] = grad;
  }
}

template <typename T, int W>
void launch(void* logits, int64_t row_stride, const int64_t* labels, int64_t ignore_index,
            float* nll, float* lse, int64_t rows, int64_t vocab, bool write_grad,
            cudaStream_t stream) {
  const int threads = std::min(kThreads, threads_for(vocab / W));
  cross_entropy_rows_kernel<T, W><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
      static_cast<T*>(logits), row_stride, labels, ignore_index, nll, lse, vocab, write_grad);
}

template <typename T>
void launch_for(bool vectors, void* logits, int64_t row_stride, const int64_t* labels,
                int64_t ignore_index, float* nll, float* lse, int64_t rows, int64_t vocab,
                bool write_grad, cudaStream_t stream) {
  if (vectors)
    launch<T, Vec<T>::kSize>(logits, row_stride, labels, ignore_index, nll, lse, rows, vocab,
                             write_grad, stream);
  else
    launch<T, 1>(logits, row_stride, labels, ignore_index, nll, lse, rows, vocab, write_grad,
                 stream);
}

}  // namespace

void cross_entropy_rows(Dtype dtype, void* logits, int64_t row_stride, const int64_t* labels,
                        int64_t ignore_index, float* nll, float* lse, int64_t rows, int64_t vocab,
                        bool write_grad, void* stream) {
  if (rows == 0) return;
  if (vocab < 1 || rows > 0x7fffffff)
    throw std::runtime_error("cross_entropy_rows: " + std::to_string(rows) + " rows of " +
                             std::to_string(vocab) +
                             " logits; needs at most 2^31 − 1 rows of at least one logit");
  const int64_t width = vector_width(dtype);
  const bool vectors = reinterpret_cast<uintptr_t>(logits) % 16 == 0 && vocab % width == 0 &&
                       row_stride % width == 0;
  const auto s = static_cast<cudaStream_t>(stream);
  switch (dtype) {
    case Dtype::f32:
      launch_for<float>(vectors, logits, row_stride, labels, ignore_index, nll, lse, rows, vocab,
                        write_grad, s);
      break;
    case Dtype::f16:
      launch_for<__half>(vectors, logits, row_stride, labels, ignore_index, nll, lse, rows, vocab,
                         write_grad, s);
      break;
    case Dtype::bf16:
      launch_for<__nv_bfloat16>(vectors, logits, row_stride, labels, ignore_index, nll, lse, rows,
                                vocab, write_grad, s);
      break;
  }
  check(cudaGetLastError(), "cross_entropy_rows");
}

}  // namespace lmf::torch_backend::kernels
