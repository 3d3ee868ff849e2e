#include "training/cross_entropy_rows.h"

#include "kernel_tensors.h"
#include "kernels/cross_entropy_kernels.h"
#include "torch_compat.h"
#include "training/lm_loss.h"

namespace lmf::torch_backend {

using kernel_tensors::kernel_dtype;

bool cross_entropy_kernel_applies(const torch::Tensor& logits, const torch::Tensor& labels) {
  return LMF_FUSED_KERNELS && logits.defined() && logits.is_cuda() &&
         kernel_dtype(logits).has_value() && logits.dim() == 2 && logits.size(1) > 0 &&
         (logits.stride(1) == 1 || logits.size(1) == 1) && logits.stride(0) >= logits.size(1) &&
         labels.scalar_type() == torch::kInt64 && labels.dim() == 1 &&
         labels.size(0) == logits.size(0) && labels.device() == logits.device();
}

torch::Tensor cross_entropy_rows(const torch::Tensor& logits, const torch::Tensor& labels,
                                 bool write_grad) {
  if (!cross_entropy_kernel_applies(logits, labels))
    return cross_entropy_rows_composite(logits, labels, write_grad);
  const compat::DeviceScope scope(logits.device());
  const torch::Tensor targets = labels.contiguous();
  const int64_t rows = logits.size(0);
  torch::Tensor nll = torch::empty({rows}, logits.options().dtype(torch::kFloat32));
  kernels::cross_entropy_rows(*kernel_dtype(logits), logits.data_ptr(), logits.stride(0),
                              targets.data_ptr<int64_t>(), kIgnoreIndex, nll.data_ptr<float>(),
                              /*lse=*/nullptr, rows, logits.size(1), write_grad,
                              compat::cuda_stream(logits.device()));
  return nll;
}

torch::Tensor cross_entropy_rows_composite(const torch::Tensor& logits, const torch::Tensor& labels,
                                           bool write_grad) {
  const torch::Tensor ignored = (labels == kIgnoreIndex).unsqueeze(1);
  const torch::Tensor index = labels.unsqueeze(1).masked_fill(ignored, 0);
  // fp32 logits are worked on in place (they are overwritten anyway); others widened once.
  torch::Tensor x = logits.to(torch::kFloat32);
  const torch::Tensor lse = torch::logsumexp(x, 1, /*keepdim=*/true);
  torch::Tensor nll = (lse - x.gather(1, index)).masked_fill_(ignored, 0).squeeze(1);
  if (write_grad) {
    x.sub_(lse).exp_().scatter_add_(1, index, torch::full(index.sizes(), -1.0f, x.options()));
    x.masked_fill_(ignored, 0);
    if (!x.is_same(logits)) logits.copy_(x);
  }
  return nll;
}

}  // namespace lmf::torch_backend
