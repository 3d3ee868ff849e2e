// Activation checkpointing: a block whose activations are not kept for the backward pass
// but recomputed there (Note [Checkpointed blocks]).
#pragma once

#include <torch/torch.h>

#include <functional>

namespace lmf::torch_backend {

// Note [Checkpointed blocks]
// `checkpointed(block, x)` runs block(x) without recording a graph and keeps only x. In
// the backward pass it runs block(x) again with grad enabled and backpropagates the
// incoming gradient through it, as PyTorch's reentrant torch.utils.checkpoint does: the
// gradient reaches x, and the leaf tensors the block captures (weights, LoRA factors)
// get it accumulated into their .grad. The CPU generator and, for a CUDA input, that
// device's generator are set back to their state of the forward pass for the
// recomputation (so dropout draws the same mask) and restored after it (so later draws
// are as if nothing had been recomputed).
//
// Unlike PyTorch's reentrant checkpoint, an input that does not require grad (the
// embeddings of a LoRA run) still gets the captured weights their gradients: with grad
// mode on, the output always requires grad. The block must return a new tensor, and
// must not change state it would see again on recomputation (a KV cache); an input
// changed in place before the backward pass is refused there.
torch::Tensor checkpointed(const std::function<torch::Tensor(const torch::Tensor&)>& block,
                           const torch::Tensor& input);

}  // namespace lmf::torch_backend
