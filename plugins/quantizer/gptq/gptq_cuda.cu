// GPTQ's lazy block as one kernel, and the Hessian's Gram product through cuBLAS on the
// tensor cores (gptq_cuda.h).
//
// Note [GPTQ on the device]
// The reference loop (gptq_solver.cpp) quantizes a block's columns one at a time with a
// dozen tensor operations each: on a GPU that is ~1.2 million columns of launches for an 8B
// model, launch-bound. But GPTQ treats the rows of W independently — the inverse Hessian is
// shared, each row's rounding errors move only that row — so one thread can carry one row
// through the whole block: its block of weights in shared memory (a row's 128 floats padded
// to 129, so that a warp reading column j of 32 rows hits 32 banks), the block's corner of
// the upper factor in shared memory (read by every thread alike: a broadcast), and the
// update of the later columns written as the loop writes it, w − fl(err·h) (no fused
// multiply-add), so that codes and errors are the loop's bit for bit. The lazy update of
// the columns after the block stays one GEMM in the solver.
//
// The Hessian H = 2/n·Σ xxᵀ is the other cost: in float32 on CUDA cores, the down
// projection's [14336 × 14336] over 262,144 calibration tokens alone is ~100 TFLOP a layer.
// The calibration inputs of a bf16 model are bf16 values lent as float32; their products
// are exact in float32, so cuBLAS's bf16 GEMM with float32 accumulation gives the float32
// Hessian up to the rounding of its sums (the order, and the tensor cores' accumulation),
// at tensor-core speed. The accumulator takes this
// path only when every input is a bf16 value (hessian_accumulator.cpp).
#include "gptq_cuda.h"

#include "plugins/quantizer/common/cuda_runtime_support.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <climits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

namespace lmf::quant::gptq {
namespace {

using lmf::quant::cuda::check;

constexpr int kRowsPerBlock = 64;  // threads of a block, one row each

size_t shared_bytes(int64_t columns) {
  return static_cast<size_t>(columns * columns + kRowsPerBlock * (columns | 1)) * sizeof(float) +
         static_cast<size_t>(kRowsPerBlock * columns);
}

__global__ void __launch_bounds__(kRowsPerBlock) solve_block_kernel(BlockSolveArgs a) {
  extern __shared__ float shared[];
  __shared__ int32_t grid_of[kMaxDeviceBlockColumns];
  const int width = static_cast<int>(a.columns);
  const int pitch = width | 1;  // odd, so that 32 rows' column j fall in 32 banks
  float* hinv = shared;                  // [width][width]
  float* tile = hinv + width * width;    // [kRowsPerBlock][pitch]: weights, then errors
  uint8_t* codes = reinterpret_cast<uint8_t*>(tile + kRowsPerBlock * pitch);  // [width][rows]
  const int64_t first_row = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock;
  const int rows_here = static_cast<int>(a.rows - first_row < kRowsPerBlock ? a.rows - first_row : kRowsPerBlock);

  for (int k = threadIdx.x; k < width * width; k += blockDim.x)
    hinv[k] = a.hinv[(k / width) * a.hinv_stride + k % width];
  for (int k = threadIdx.x; k < rows_here * width; k += blockDim.x)
    tile[(k / width) * pitch + k % width] = a.weight[(first_row + k / width) * a.weight_stride + k % width];
  for (int k = threadIdx.x; k < width; k += blockDim.x) grid_of[k] = a.column_grid[k];
  __syncthreads();

  const int r = threadIdx.x;
  if (r < rows_here) {
    const int64_t row = first_row + r;
    float* w = tile + r * pitch;
    float loss = 0.0f;
    for (int i = 0; i < width; ++i) {
      const int64_t grid = static_cast<int64_t>(grid_of[i]) * a.rows + row;
      const float scale = a.scales[grid], zero = a.zeros[grid];
      const float value = w[i];
      const float code = fminf(fmaxf(rintf(value / scale) + zero, 0.0f), static_cast<float>(a.maxq));
      const float difference = value - __fmul_rn(scale, code - zero);  // no fused multiply-add
      const float d = hinv[i * width + i];
      loss += difference * difference / (d * d) / 2.0f;
      const float error = difference / d;
      const float* h = hinv + i * width;
#pragma unroll 8
      for (int j = i + 1; j < width; ++j) w[j] = w[j] - __fmul_rn(error, h[j]);
      w[i] = error;
      codes[i * kRowsPerBlock + r] = static_cast<uint8_t>(code);
    }
    a.losses[row] += loss;
  }
  __syncthreads();
  for (int k = threadIdx.x; k < rows_here * width; k += blockDim.x) {
    const int64_t row = first_row + k / width;
    a.errors[row * width + k % width] = tile[(k / width) * pitch + k % width];
    a.codes[row * a.codes_stride + k % width] = codes[(k % width) * kRowsPerBlock + k / width];
  }
}

// One cuBLAS handle per device, made on first use and kept (the library stays loaded: Note
// [GPTQ CUDA code stays loaded]); a handle's stream is set per call, so calls hold the lock.
std::mutex cublas_mutex;

cublasHandle_t handle_for(int device) {
  static std::map<int, cublasHandle_t> handles;
  auto found = handles.find(device);
  if (found != handles.end()) return found->second;
  cublasHandle_t handle = nullptr;
  if (cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error("gptq: creating a cuBLAS handle on cuda:" + std::to_string(device) + " failed");
  handles.emplace(device, handle);
  return handle;
}

}  // namespace

bool gptq_cuda_compiled() {
  return true;
}

bool solve_block_fits(int device, int64_t columns) {
  int limit = 0;
  check(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
        "cudaDeviceGetAttribute");
  return shared_bytes(columns) <= static_cast<size_t>(limit);
}

void solve_block_cuda(const BlockSolveArgs& a, void* stream) {
  if (a.columns < 1 || a.columns > kMaxDeviceBlockColumns || a.rows < 1)
    throw std::invalid_argument("gptq: a device block takes 1 to " + std::to_string(kMaxDeviceBlockColumns) +
                                " columns and at least one row, got " + std::to_string(a.columns) +
                                " columns of " + std::to_string(a.rows) + " rows");
  const size_t bytes = shared_bytes(a.columns);
  check(cudaFuncSetAttribute(solve_block_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(bytes)),
        "gptq: the block kernel's shared memory");
  const auto blocks = static_cast<unsigned>((a.rows + kRowsPerBlock - 1) / kRowsPerBlock);
  solve_block_kernel<<<blocks, kRowsPerBlock, bytes, static_cast<cudaStream_t>(stream)>>>(a);
  check(cudaGetLastError(), "gptq: launching the block kernel");
}

void accumulate_gram_bf16_cuda(const void* x, int64_t tokens, int64_t features, float alpha,
                               float beta, float* gram, void* stream) {
  if (tokens > INT_MAX || features > INT_MAX)
    throw std::invalid_argument("gptq: " + std::to_string(tokens) + " x " + std::to_string(features) +
                                " calibration inputs in one call exceed cuBLAS's int sizes");
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  std::lock_guard lock(cublas_mutex);
  cublasHandle_t handle = handle_for(device);
  if (cublasSetStream(handle, static_cast<cudaStream_t>(stream)) != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error("gptq: cublasSetStream failed");
  const int n = static_cast<int>(features), k = static_cast<int>(tokens);
  // Row-major X [k, n] is column-major Xᵀ [n, k]: gram = Xᵀ·(Xᵀ)ᵀ.
  const cublasStatus_t status =
      cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_T, n, n, k, &alpha, x, CUDA_R_16BF, n, x, CUDA_R_16BF, n,
                   &beta, gram, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error("gptq: the Hessian's cuBLAS GEMM failed (status " +
                             std::to_string(static_cast<int>(status)) + ")");
}

}  // namespace lmf::quant::gptq
