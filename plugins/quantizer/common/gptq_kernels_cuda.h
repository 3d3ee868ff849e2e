// CUDA kernels of the GPTQ layout (Note [GPTQ checkpoint layout]): dequantize to fp32, fp16 or
// bf16, and y = x·Wᵀ for up to 8 tokens straight from the packed tensors, reading each packed
// word once (Note [GPTQ CUDA kernels] in gptq_kernels_cuda.cu). Plain pointers and sizes, no
// libtorch types, so that nvcc compiles them alone. `stream` is a cudaStream_t (null: the
// legacy default stream). In a build without CUDA (gptq_kernels_cuda_unavailable.cpp) there
// are no kernels: gptq_cuda_kernels_compiled() is false and every other call throws
// std::logic_error. Bad arguments throw std::invalid_argument naming them, a failed launch
// std::runtime_error; nothing is written then.
#pragma once

#include "plugins/quantizer/common/device_dtype.h"
#include "plugins/quantizer/common/gptq_kernels.h"

#include <cstdint>

namespace lmf::quant {


// Whether this build has the CUDA kernels (false: the throwing stubs).
bool gptq_cuda_kernels_compiled();

// In the functions below the pointers of `layer` are device pointers: qweight, qzeros and
// scales always, g_idx unless layer.sequential_group_size > 0 (then g_idx[i] = i / that size
// is not read). sequential_group_size is computed on the host (sequential_group_size() of a
// host copy of g_idx, or known from the checkpoint's desc_act).

// weight [out_features, in_features] row-major in `dtype`: scales·(code − zero) computed in
// fp32 and rounded once to `dtype`, so exactly gptq_dequantize's value rounded to `dtype`.
// Any bits the layout has (2, 3, 4, 8), any g_idx.
void gptq_dequantize_cuda(const GptqView& layer, DeviceDtype dtype, void* weight, void* stream);

constexpr int64_t kGptqMatvecMaxTokens = 8;

enum class MatvecKernel {
  kAuto,     // the tensor-core kernel where it applies, else the CUDA-core one
  kGeneric,  // the CUDA-core kernel always (tests compare the two)
};

// How gptq_matvec_cuda runs one layer shape for a number of tokens on the current device:
// made once (e.g. when a model loads), kept with the workspace it asks for.
struct GptqMatvecPlan {
  int bits = 4;
  int64_t out_features = 0, in_features = 0, groups = 0, sequential_group_size = 0;
  DeviceDtype x_dtype = DeviceDtype::bf16;
  int64_t tokens = 1;
  // The 4-bit tensor-core kernel (x fp16/bf16, groups in order and a multiple of 32 inputs,
  // qweight 16-byte aligned, compute capability 8.0 or later); else the fp32 CUDA-core one,
  // which takes every layout (other widths, act-order, fp32 x).
  bool tensor_cores = false;
  int splits = 1;                // blocks along the input dimension for each tile of outputs
  int64_t workspace_floats = 0;  // their partial sums (0 with one split)
  int64_t counters = 0;          // ints that must start at zero; each call leaves them at zero
  // The tensor-core kernel's block (Note [GPTQ CUDA kernels]): `warps` warps, `slices` of
  // them splitting the inputs of each 32-column strip, each lane keeping `loads` 16-byte
  // loads in flight; `overlap`: the device can start it before the previous kernel ends.
  int warps = 0, slices = 1, loads = 0;
  bool overlap = false;
};

// `splits` 0 picks them from the shape and the device; a positive value is used as given
// (capped at what the input dimension allows): for tuning.
GptqMatvecPlan gptq_matvec_plan(const GptqView& layer, DeviceDtype x_dtype, int64_t tokens,
                                MatvecKernel kernel = MatvecKernel::kAuto, int splits = 0);

struct GptqMatvecArgs {
  const void* x = nullptr;  // [tokens, in_features] row-major, plan.x_dtype; 16-byte aligned
                            // for the tensor-core kernel
  void* y = nullptr;        // [tokens, out_features] row-major, y_dtype
  DeviceDtype y_dtype = DeviceDtype::bf16;
  // With plan.splits > 1: plan.workspace_floats floats and plan.counters ints (zeroed once,
  // e.g. with cudaMemset when allocated). One workspace serves any number of layers whose
  // plans fit in it, one call at a time: calls that may overlap (other streams) need their own.
  float* workspace = nullptr;
  int* counters = nullptr;
  // Launch the tensor-core kernel with programmatic stream serialization where plan.overlap:
  // it then reads the layer's tensors before the kernel before it in the stream has ended
  // (x and y only after), so no kernel just before may write them (fixed weights while
  // decoding: yes; a dequantize or a copy kernel into qweight just before: no).
  bool overlap_previous = false;
};

// y = x · Wᵀ, W = the dequantized layer, the products summed in fp32 and y rounded once.
void gptq_matvec_cuda(const GptqView& layer, const GptqMatvecPlan& plan, const GptqMatvecArgs& args,
                      void* stream);

}  // namespace lmf::quant
