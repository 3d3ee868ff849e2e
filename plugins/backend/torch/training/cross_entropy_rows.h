// The cross-entropy of each row of a chunk of logits, with the gradient written over the
// logits: the step of the LM loss between its two matmuls (Note [Gradient in the forward
// pass], lm_loss.h). One CUDA kernel where it applies (kernels/cross_entropy_kernels.h),
// libtorch operations elsewhere, the same values up to fp32 rounding.
#pragma once

#include <torch/torch.h>

namespace lmf::torch_backend {

// −log softmax(logits)[label] per row: [n] fp32 from logits [n, V] (a floating dtype, its
// columns contiguous for the kernel) and labels [n] int64 on the same device; 0 where the
// label is kIgnoreIndex (lm_loss.h). With `write_grad`, `logits` is overwritten with the
// gradient of that loss, softmax − one_hot(label), rounded once to its dtype; an
// ignored row gets zeros. Labels must lie in [0, V) or be ignored (lm_loss.cpp checks them
// on the CPU; the kernel gives NaN for one outside rather than read past the row).
torch::Tensor cross_entropy_rows(const torch::Tensor& logits, const torch::Tensor& labels,
                                 bool write_grad);

// Whether cross_entropy_rows takes the kernel: a CUDA build and CUDA logits of fp32, fp16
// or bf16 whose columns are contiguous and whose rows do not overlap.
bool cross_entropy_kernel_applies(const torch::Tensor& logits, const torch::Tensor& labels);

// The same with libtorch operations in fp32 (the CPU's path, and the reference the
// kernel is tested against).
torch::Tensor cross_entropy_rows_composite(const torch::Tensor& logits, const torch::Tensor& labels,
                                           bool write_grad);

}  // namespace lmf::torch_backend
