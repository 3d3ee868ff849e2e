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
// extra LM-head matmul per chunk. token_nll and sequence_logprobs (DPO: per-token values
// with any grad_output per token) work so; the summed loss of causal_lm_loss_sum goes
// further (Note [Gradient in the forward pass]).

// Note [Gradient in the forward pass]
// A summed loss has one scalar grad_output, so its gradients are fixed by the forward
// pass up to that scale (as Liger-Kernel's FusedLinearCrossEntropy forms them). Per chunk
// of `chunk_rows` rows, the forward pass of causal_lm_loss_sum computes the logits
// h·Wᵀ in the inputs' dtype; then one CUDA kernel (training/cross_entropy_rows.h; libtorch
// operations on the CPU) reads each row twice, computing in fp32 (max and Σ exp, then
// softmax), and writes the row's nll and, over the logits, dlogits = softmax −
// one_hot(label) rounded to the dtype; then grad_hidden[chunk] = dlogits·W ([N, H], the
// inputs' dtype) and grad_weight += dlogitsᵀ·h. The logits are freed before the next
// chunk. The backward pass multiplies the two buffers by grad_output (in place, no host
// sync: hence one backward pass only) and returns them.
// Against the recomputing path it saves one LM-head matmul per chunk, the fp32 copies of
// the logits and the elementwise passes over them (cast, sub, exp, mul, cast: about ten over
// [chunk, V] in fp32 become 3 in the dtype), and the fp32 [V, H] accumulator. Its cost
// is memory held from forward to backward: grad_hidden [N, H] and grad_weight [V, H] (in
// the weight's dtype: 467 MB for Qwen2-1.5B's head in bf16), the gradients autograd would
// otherwise allocate in the backward pass. In the trainer the loss is the forward pass's
// last step and its backward the first, so they are held over no other work; the peak
// falls, since the recomputing backward held an fp32 chunk of logits, its dlogits and the
// fp32 accumulator at once (Qwen2-1.5B, 4×2048 tokens on an H100: 43.6 → 40.6 GiB, and a
// step 208 → 174 ms). A caller that keeps `sum` long before its backward holds them as
// long. With no gradient wanted (eval; a frozen head and frozen inputs) it computes the
// loss alone and allocates no gradient buffer.
// grad_weight is accumulated with addmm_ (beta 1) in the weight's dtype: cuBLAS sums
// each chunk's product in fp32 and rounds the running sum once per chunk (2 roundings
// for 4×2048 tokens in chunks of 4096). An fp32 accumulator would round once, at the
// end, but costs [V, H]·4 bytes (933 MB for Qwen2-1.5B) plus a cast pass; transformers
// under bf16 autocast produces the head's gradient from one bf16 matmul over all tokens,
// rounded to bf16 once, so this path is at most chunks − 1 roundings further from it
// (~2⁻⁹ relative each, below the noise of bf16 training). An fp32 weight keeps fp32.
// The backward's scaling happens in the buffers' dtype: libtorch rounds the fp32
// grad_output (1/tokens in the trainer) to bf16 before multiplying a bf16 buffer, so every
// gradient element is scaled by the same number within 2⁻⁹ of it — a learning rate off by
// at most 0.2%, the same for every step of a run — and rounded once more. Reading the
// scale in fp32 would need a host sync or an fp32 copy of the [V, H] buffer.

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
// (already shifted: shift_labels). The gradients wanted (hidden and/or weight requiring
// grad, grad mode on) are formed in the forward pass (Note [Gradient in the forward
// pass]); `sum` then supports one backward pass.
LossSum causal_lm_loss_sum(const torch::Tensor& hidden, const torch::Tensor& weight,
                           const torch::Tensor& labels, int64_t chunk_rows);

// Σ_t log p(labels[b, t]) over the non-ignored positions of each sequence: hidden
// [B, T, H], labels [B, T] → [B] fp32, differentiable as token_nll (TRL's sequence
// log-probabilities for DPO, loss_type sigmoid).
torch::Tensor sequence_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                const torch::Tensor& labels, int64_t chunk_rows);

}  // namespace lmf::torch_backend
