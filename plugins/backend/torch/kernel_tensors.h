// What the libtorch-facing wrappers of the CUDA kernels (fused_ops, decode_ops) ask of a
// tensor before handing its pointer to a kernel: a dtype the kernels take, a CUDA device
// in a build that compiled them, 16-byte alignment; and the stream to launch on.
#pragma once

#include "kernels/fused_kernels.h"
#include "torch_compat.h"

#include <torch/torch.h>

#include <cstdint>
#include <optional>

#ifndef LMF_FUSED_KERNELS
#define LMF_FUSED_KERNELS 0  // set by CMake when the kernels/*.cu are compiled
#endif

namespace lmf::torch_backend::kernel_tensors {

inline std::optional<kernels::Dtype> kernel_dtype(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return kernels::Dtype::f32;
    case torch::kFloat16: return kernels::Dtype::f16;
    case torch::kBFloat16: return kernels::Dtype::bf16;
    default: return std::nullopt;
  }
}

inline kernels::Dtype dtype_of(const torch::Tensor& t) { return *kernel_dtype(t); }

// A CUDA tensor of a dtype the kernels take, in a build with the kernels.
inline bool on_cuda(const torch::Tensor& t) {
  return LMF_FUSED_KERNELS && t.defined() && t.is_cuda() && kernel_dtype(t).has_value();
}

inline bool aligned(const torch::Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0; }

inline void* stream_of(const torch::Tensor& t) { return compat::cuda_stream(t.device()); }

}  // namespace lmf::torch_backend::kernel_tensors
