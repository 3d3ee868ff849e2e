// The causal-LM loss from the final hidden states and the LM head, computed a chunk of
// rows at a time so that the [tokens, vocab] logits never exist whole (Note [Loss
// without the logits]); the label shift of causal LM; per-sequence log-probabilities
// for DPO.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace lmf::torch_backend {

// Labels equal to this are ignored, as in torch's cross_entropy and transformers.
constexpr int64_t kIgnoreIndex = -100;

// Note [Loss without the logits]
// With a 152K-token vocabulary, the logits of 16K tokens take 10 GB in fp32, and autograd
// would keep them (and their softmax) until the backward pass. Here a custom autograd
// function computes, `chunk_rows` rows at a time, the fp32 logits (the matmul runs in the
// inputs' dtype and is widened to fp32, as transformers' loss widens bf16 logits), their
// logsumexp and the target's logit, and keeps only hidden, weight, labels and the
// logsumexp per row. The backward pass recomputes each chunk's logits, forms
// dlogits = (softmax − one-hot) · grad, and accumulates grad_hidden = dlogits · W and
// grad_weight = dlogitsᵀ · hidden (the latter in an fp32 buffer, cast to the weight's
// dtype at the end). The peak is one chunk of logits instead of all of them, for one
// extra LM-head matmul per chunk.

// labels[..., t] = input_ids[..., t + 1], and kIgnoreIndex at the last position and
// wherever loss_mask[..., t + 1] is false (prompt tokens, padding). `loss_mask`: bool, the
// shape of input_ids, true for tokens the model must learn to predict; undefined: all.
torch::Tensor shift_labels(const torch::Tensor& input_ids, const torch::Tensor& loss_mask = {});

// −log softmax(hidden · weightᵀ)[label] per row: [N] fp32, 0 where the label is ignored.
// hidden [N, H] and weight [V, H] of one floating dtype, labels [N] int64. Differentiable
// w.r.t. hidden, and w.r.t. weight when it requires grad (a frozen head gets none).
torch::Tensor token_nll(const torch::Tensor& hidden, const torch::Tensor& weight,
                        const torch::Tensor& labels, int64_t chunk_rows);

struct LossSum {
  torch::Tensor sum;     // 0-d fp32: Σ −log p over the tokens whose label is not ignored
  torch::Tensor tokens;  // 0-d int64: how many such tokens
};

// The causal-LM cross-entropy, summed (transformers ≥ 4.46 divides the sum of a whole
// accumulated batch by its token count: the caller divides). hidden [..., H], labels [...]
// (already shifted: shift_labels).
LossSum causal_lm_loss_sum(const torch::Tensor& hidden, const torch::Tensor& weight,
                           const torch::Tensor& labels, int64_t chunk_rows);

// Σ_t log p(labels[b, t]) over the non-ignored positions of each sequence: hidden
// [B, T, H], labels [B, T] → [B] fp32, differentiable as token_nll (TRL's sequence
// log-probabilities for DPO, loss_type sigmoid).
torch::Tensor sequence_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                const torch::Tensor& labels, int64_t chunk_rows);

}  // namespace lmf::torch_backend
