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

// Scales every grad by max_norm / (norm + 1e-6) when that is below 1, as
// clip_grad_norm_ does, and returns the norm before clipping (as grad_total_norm). No
// host sync: the scale is applied on the device even when it is 1.
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm);

// Whether every element of every grad is finite (one host sync).
bool grads_are_finite(const std::vector<torch::Tensor>& parameters);

}  // namespace lmf::torch_backend
