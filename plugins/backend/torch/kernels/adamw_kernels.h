// Launcher of the mixed-precision AdamW kernel (adamw_kernels.cu, Note [Fused AdamW on
// CUDA] in training/adamw.cpp): one pass over each element reads the 16-bit grad, the fp32
// master weight and moments, and writes master, moments and the parameter rounded to its
// dtype. Plain pointers, no libtorch types (Note [Fused kernels]); training/adamw.cpp
// calls it.
#pragma once

#include "kernels/fused_kernels.h"  // Dtype

#include <cstdint>

namespace lmf::torch_backend::kernels {

// One parameter of a step: `numel` contiguous elements in each array, none overlapping.
struct AdamWTensor {
  void* parameter = nullptr;   // the launch's dtype; receives the master rounded to nearest
  const void* grad = nullptr;  // the launch's dtype
  float* master = nullptr;
  float* exp_avg = nullptr;
  float* exp_avg_sq = nullptr;
  int64_t numel = 0;
  double weight_decay = 0.0;
  int64_t step = 0;  // this parameter's step count, this step included (≥ 1)
};

struct AdamWHyperparameters {
  double lr = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// torch.optim.AdamW's update of every tensor, element by element as libtorch's fused
// kernel (at::_fused_adamw_, 2.11) computes it on the fp32 master with the grad widened to
// fp32; the .cu says where it may differ. With `grad_scale` (a device fp32 scalar, or
// null for 1), each grad is first scaled as `grad.mul_(*grad_scale)` would scale it in
// its dtype, so that a clip coefficient needs no pass of its own. The bias corrections
// come from the host's step counts: no device step tensor, no synchronisation. `dtype` is
// f16 or bf16 (f32 throws); `stream` is a cudaStream_t. The tensors go in launches of up
// to 64, their table passed as a kernel argument: nothing is copied to the device first.
void adamw_mixed_precision_step(Dtype dtype, const AdamWTensor* tensors, int64_t count,
                                const AdamWHyperparameters& hyper, const float* grad_scale,
                                void* stream);

}  // namespace lmf::torch_backend::kernels
