// Launcher of the cross-entropy row kernel (cross_entropy_kernels.cu): the loss of each
// row of logits and its gradient written over the row, for the LM loss's gradient in the
// forward pass (Note [Gradient in the forward pass], training/lm_loss.h). Plain pointers,
// no libtorch types (Note [Fused kernels]); training/cross_entropy_rows.cpp wraps it.
#pragma once

#include "kernels/fused_kernels.h"  // Dtype

#include <cstdint>

namespace lmf::torch_backend::kernels {

// For each of `rows` rows of `vocab` logits (row r at `logits` + r·row_stride elements,
// its columns contiguous) and its label labels[r] (int64; `ignore_index` ignores the row),
// in fp32:
//   nll[r] = logsumexp(row) − row[label]; 0 for an ignored row; NaN for a label outside
//            [0, vocab) (the row is never read out of bounds);
//   lse[r] = logsumexp(row), when `lse` is not null (also for ignored rows);
//   with `write_grad`, the row overwritten by d nll[r] / d row = softmax(row) −
//   one_hot(label), rounded once to the dtype (zeros for an ignored row).
// 16-byte vectors when `logits` is 16-byte aligned and `vocab` and `row_stride` are
// multiples of vector_width(dtype); element by element otherwise. `stream`: cudaStream_t.
void cross_entropy_rows(Dtype dtype, void* logits, int64_t row_stride, const int64_t* labels,
                        int64_t ignore_index, float* nll, float* lse, int64_t rows, int64_t vocab,
                        bool write_grad, void* stream);

}  // namespace lmf::torch_backend::kernels
