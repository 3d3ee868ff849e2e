// Folding a quantizer's input scales into a decoder block (Note [AWQ scale folding] in
// docs/quantization.md): the linears that read one input get their columns
// multiplied by s, the operation producing that input gets its output channels divided by
// s, and the block computes the same function.
#pragma once

#include "decoder.h"

#include <torch/torch.h>

#include <string>
#include <vector>

namespace lmf::torch_backend {

struct NamedLinear {
  std::string name;  // "model.layers.3.self_attn.q_proj", as checkpoints name the module
  Linear* linear;
};

// Note [Fold groups]
// In a pre-norm Llama/Qwen2 block four inputs are shared by linears and produced by an
// operation that is linear in each output channel, so x/s can be computed by that operation
// itself:
//   input_layernorm          -> q_proj, k_proj, v_proj   (RMSNorm: weight / s)
//   v_proj                   -> o_proj                   (rows and bias / s; the attention
//                               output is a convex mix of value vectors, channel by channel,
//                               so o_proj's input is divided by s too — only when v's
//                               outputs are o's inputs one for one, as many key/value heads
//                               as query heads: with GQA a value channel feeds several of
//                               o's inputs, which would need equal scales; AutoAWQ skips it)
//   post_attention_layernorm -> gate_proj, up_proj       (RMSNorm: weight / s)
//   up_proj                  -> down_proj                (rows and bias / s; down's input is
//                               act(gate) * up, channel by channel)
// as AutoAWQ's Llama and Qwen2 models list them. Each consumer's column j is multiplied by
// s[j], so x/s · (W·diag(s))ᵀ = x · Wᵀ: exact in real arithmetic, and within the dtype's
// rounding in floating point (the fold is computed in float32 and stored in the weights'
// dtype).
struct FoldGroup {
  std::string producer;                // "model.layers.3.input_layernorm", for messages
  torch::Tensor norm;                  // the RMSNorm weight [in] producing the input, or
  Linear* producer_linear = nullptr;   //   the linear whose output channels are the input
  std::vector<NamedLinear> consumers;  // every linear reading the input
};

// Block `index`'s groups, in the order the data reaches them. `layer` must have separate
// (unfused) projections.
std::vector<FoldGroup> fold_groups(DecoderLayer& layer, int64_t index);

// Folds `scales` [in] (finite, positive; any device) into the group's weights, in place.
void fold_input_scales(const FoldGroup& group, const torch::Tensor& scales);

}  // namespace lmf::torch_backend
