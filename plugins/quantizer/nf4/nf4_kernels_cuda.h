// CUDA kernels of the NF4 layout (Note [NF4 checkpoint layout]): dequantize to fp32, fp16 or
// bf16, and y = x·Wᵀ for up to 8 tokens a launch straight from the packed codes (Note [NF4
// CUDA kernels] in nf4_kernels_cuda.cu). Plain pointers and sizes, no libtorch types, so that
// nvcc compiles them alone (library lmf_nf4_cuda). `stream` is a cudaStream_t (null: the
// legacy default stream). In a build without CUDA (nf4_kernels_cuda_unavailable.cpp) there
// are no kernels: nf4_cuda_kernels_compiled() is false and every other call throws
// std::logic_error. Bad arguments throw std::invalid_argument naming them, a failed launch
// std::runtime_error; nothing is written then.
#pragma once

#include "plugins/quantizer/common/device_dtype.h"

#include <cstdint>

namespace lmf::quant::nf4 {

// Element types of x, y and the dequantized weight.
using CudaDtype = DeviceDtype;

// One layer's tensors as the layout stores them (Note [NF4 checkpoint layout]): the block
// absmax values still double-quantized where the layer is, so that a device copy costs what
// the checkpoint does. The pointers are host or device pointers, as the user says.
struct Nf4StoredView {
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t block_size = 64;          // a power of two from 32 to 4096
  const uint8_t* packed = nullptr;  // [out * in / 2]: element 2k in the high nibble of byte k
  bool double_quant = true;
  const float* absmax = nullptr;  // without double_quant: [blocks]
  // With double_quant: absmax[b] = nested_map[absmax_codes[b]] * nested_absmax[b / nested
  // block size] + nested_offset, each operation rounded to float (double_dequantize).
  const uint8_t* absmax_codes = nullptr;  // [blocks]
  const float* nested_absmax = nullptr;   // [ceil(blocks / nested_block_size)]
  const float* nested_map = nullptr;      // [256]
  float nested_offset = 0.0f;
  int64_t nested_block_size = 256;

  int64_t elements() const { return out_features * in_features; }
  int64_t blocks() const { return elements() / block_size; }
  int64_t nested_blocks() const { return (blocks() + nested_block_size - 1) / nested_block_size; }
};

// Whether this build has the CUDA kernels (false: the throwing stubs).
bool nf4_cuda_kernels_compiled();

// The tokens one matmul launch takes; more run this many at a time.
constexpr int64_t kNf4MatvecMaxTokens = 8;

// In both functions the pointers of `layer` are device pointers on the current device.

// weight [out_features, in_features] row-major in `dtype`: level · absmax as one float
// product after the same two roundings of the absmax, so exactly nf4_dequantize's value,
// rounded once (to nearest even) to fp16 or bf16.
void nf4_dequantize_cuda(const Nf4StoredView& layer, CudaDtype dtype, void* weight, void* stream);

// y [tokens, out_features] = x [tokens, in_features] · Wᵀ, x and y row-major in `dtype`,
// tokens ≥ 0: the products of x and the levels summed in fp32 and y rounded once. Any layer
// the layout allows; rows of a multiple of 32 inputs with x 16-byte aligned take the fast
// kernel.
void nf4_matmul_cuda(const Nf4StoredView& layer, CudaDtype dtype, const void* x, int64_t tokens,
                     void* y, void* stream);

}  // namespace lmf::quant::nf4
