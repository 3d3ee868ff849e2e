// GPTQ's two heavy steps on a CUDA device (Note [GPTQ on the device] in gptq_cuda.cu): one
// lazy block of columns solved in one kernel, and the Hessian's Gram product on the tensor
// cores. Plain pointers and sizes, no libtorch types, so that nvcc compiles it alone; the
// solver (gptq_solver.cpp) and the accumulator (hessian_accumulator.cpp) call it in CUDA
// builds. Without CUDA (gptq_cuda_unavailable.cpp) gptq_cuda_compiled() is false and every
// other call throws std::logic_error. A failed launch throws std::runtime_error.
#pragma once

#include <cstdint>

namespace lmf::quant::gptq {

bool gptq_cuda_compiled();

// The widest block the kernel takes (GptqOptions::block_size beyond it runs column by column).
constexpr int64_t kMaxDeviceBlockColumns = 128;

// One lazy block of `columns` columns of a [rows, *] float32 weight, all on one device.
struct BlockSolveArgs {
  const float* weight = nullptr;  // the block's first column of W as the block starts
  int64_t weight_stride = 0;      // floats between rows of W
  const float* hinv = nullptr;    // the block's [columns, columns] corner of the upper factor
  int64_t hinv_stride = 0;
  const float* scales = nullptr;  // [grids, rows]: the grids this block's columns use
  const float* zeros = nullptr;   // [grids, rows], integer-valued
  const int32_t* column_grid = nullptr;  // [columns]: each column's row of scales/zeros
  uint8_t* codes = nullptr;       // out: the block's first column of the codes [rows, *]
  int64_t codes_stride = 0;
  float* errors = nullptr;        // out: [rows, columns] contiguous, (w − q)/d per column
  float* losses = nullptr;        // [rows]: (w − q)²/(2d²) of the block added to each row
  int64_t rows = 0;
  int64_t columns = 0;            // 1 ..= kMaxDeviceBlockColumns
  int maxq = 15;
};

// Whether a block of `columns` columns fits the shared memory of CUDA device `device`.
bool solve_block_fits(int device, int64_t columns);

// Quantizes the block's columns in order, each column's rounding error spread over the
// block's later columns, exactly as the column-by-column loop of gptq_quantize computes it
// (the same float32 operations in the same order per element), on `stream` (cudaStream_t)
// of the current device.
void solve_block_cuda(const BlockSolveArgs& args, void* stream);

// gram = beta·gram + alpha·XᵀX for X [tokens, features] bf16 row-major and gram
// [features, features] float32, products of bf16 exact and sums in float32 (cuBLAS, tensor
// cores), on `stream` of the current device. Calls from several threads take turns.
void accumulate_gram_bf16_cuda(const void* x, int64_t tokens, int64_t features, float alpha,
                               float beta, float* gram, void* stream);

}  // namespace lmf::quant::gptq
