#include "training/grad_clip.h"

#include "torch_compat.h"

namespace lmf::torch_backend {
namespace {

std::vector<torch::Tensor> defined_grads(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  return grads;
}

// Whether the multi-tensor (foreach) kernels can take `grads` at once.
[[maybe_unused]] bool on_one_cuda_device(const std::vector<torch::Tensor>& grads) {
  if (grads.empty() || !grads[0].is_cuda()) return false;
  for (const torch::Tensor& g : grads)
    if (g.device() != grads[0].device()) return false;
  return true;
}

}  // namespace

torch::Tensor grad_total_norm(const std::vector<torch::Tensor>& parameters) {
  torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> grads = defined_grads(parameters);
  if (grads.empty()) return torch::zeros({}, torch::kFloat32);
  std::vector<torch::Tensor> norms;
#if LMF_TORCH_AT_LEAST(2, 6)
  // One multi-tensor kernel per device instead of one reduction per parameter (as
  // torch.nn.utils.clip_grad_norm_ does with foreach); same fp32 norms.
  if (on_one_cuda_device(grads)) norms = at::_foreach_norm(grads, 2, torch::kFloat32);
#endif
  if (norms.empty())
    for (const torch::Tensor& g : grads)
      norms.push_back(g.norm(at::Scalar(2.0), torch::kFloat32).to(grads[0].device()));
  return at::linalg_vector_norm(torch::stack(norms), 2);
}

ClipCoefficient clip_coefficient(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  ClipCoefficient clip;
  clip.total_norm = grad_total_norm(parameters);
  // torch computes `max_norm / (norm + 1e-6)` as reciprocal() * max_norm (Tensor.__rdiv__).
  clip.coefficient = torch::clamp_max((clip.total_norm + 1e-6).reciprocal() * max_norm, 1.0);
  return clip;
}

void scale_grads(const std::vector<torch::Tensor>& parameters, const torch::Tensor& scale) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads = defined_grads(parameters);
#if LMF_TORCH_AT_LEAST(2, 6)
  if (on_one_cuda_device(grads) && grads[0].device() == scale.device()) {
    at::_foreach_mul_(grads, scale);
    return;
  }
#endif
  for (torch::Tensor& g : grads) g.mul_(scale.to(g.device()));
}

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
  const ClipCoefficient clip = clip_coefficient(parameters, max_norm);
  scale_grads(parameters, clip.coefficient);
  return clip.total_norm;
}

bool grads_are_finite(const std::vector<torch::Tensor>& parameters) {
  const std::vector<torch::Tensor> grads = defined_grads(parameters);
  std::vector<torch::Tensor> finite;
  for (const torch::Tensor& g : grads)
    finite.push_back(torch::isfinite(g).all().to(grads[0].device()));
  return finite.empty() || torch::stack(finite).all().item<bool>();
}

}  // namespace lmf::torch_backend
