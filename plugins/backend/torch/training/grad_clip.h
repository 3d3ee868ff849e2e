// Gradient clipping by total L2 norm, as torch.nn.utils.clip_grad_norm_, and the check for
// non-finite gradients the trainer stops on.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace lmf::torch_backend {

// The L2 norm of all the parameters' grads taken together (parameters without a grad
// count for nothing): a 0-d fp32 tensor on the grads' device, read without a host sync.
// Each grad's norm is accumulated in fp32, also for bf16 grads (torch would round it to
// bf16 there).
torch::Tensor grad_total_norm(const std::vector<torch::Tensor>& parameters);

// What clip_grad_norm_ would multiply the grads by, without touching them: the total norm
// (as grad_total_norm) and min(1, max_norm / (norm + 1e-6)), both 0-d fp32 tensors on the
// grads' device, no host sync. AdamW::step takes the coefficient and applies it as it
// reads each grad, which spares the fused CUDA path a pass over the grads.
struct ClipCoefficient {
  torch::Tensor total_norm;
  torch::Tensor coefficient;
};
ClipCoefficient clip_coefficient(const std::vector<torch::Tensor>& parameters, double max_norm);

// Multiplies every grad in place by `scale` (a 0-d tensor), as clip_grad_norm_ applies its
// coefficient: in the grad's dtype.
void scale_grads(const std::vector<torch::Tensor>& parameters, const torch::Tensor& scale);

// clip_coefficient, then scale_grads by it, as clip_grad_norm_ does; returns the norm
// before clipping. No host sync: the scale is applied on the device even when it is 1.
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm);

// Whether every element of every grad is finite (one host sync).
bool grads_are_finite(const std::vector<torch::Tensor>& parameters);

}  // namespace lmf::torch_backend
