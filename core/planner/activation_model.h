// Activation memory of training: what the backward pass needs kept, per layer and per
// tensor-parallel rank.
//
// Note [Activation memory]
// Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer
// Models", sec. 4) count the bytes a GPT layer keeps for its backward pass: 34sbh +
// 5as^2b with 16-bit activations, LayerNorm and dropout, and show which terms tensor
// parallelism (t) and sequence parallelism divide. We count the same way, term by term,
// for the layers these models have:
//   - attention: the norm's input and output (the input of the q/k/v projections), Q, K,
//     V, the input of the output projection; the softmax output (eager attention,
//     2as^2b, plus as^2b + 2as^2b with dropout) or FlashAttention's fp32 log-sum-exp
//     (4asb); MLA adds its compressed latents;
//   - a SwiGLU MLP keeps its norm's input and output, the gate and up outputs, the SiLU
//     output and the product (4 tensors of width i) where GELU keeps 2;
//   - an MoE MLP keeps the router's fp32 logits and probabilities, k copies of each token
//     dispatched to its experts, the experts' intermediates and outputs, and the shared
//     experts' intermediates;
//   - dropout masks (1 byte) only where the model has dropout (GPT; none of the presets).
// With eager attention, GELU, i = 4h, dropout and no GQA this gives the paper's
// 34sbh + 5as^2b exactly (tests/planner/activation_model_test.cpp). Without sequence
// parallelism the norms' inputs/outputs and the dropout masks are replicated on every TP
// rank (the paper's 10sbh); with it everything is divided by t.
// Recomputation: "selective" drops the attention-core terms (recomputed in backward, as
// in the paper); "full" keeps each layer's input only, plus one layer's activations live
// while its backward runs.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/model_spec.h"
#include "core/planner/plan_settings.h"

namespace lmf::planner {

struct ActivationShape {
  double seq = 0;    // s
  double batch = 0;  // b, the micro-batch
  int tp = 1;
  bool sequence_parallel = true;
  double bytes = 2;  // per element: 2 for bf16/fp16 training, 4 for fp32
  AttentionImpl attention = AttentionImpl::flash;
  bool recompute_attention_core = false;  // selective recomputation
  double lora_rank = 0;                   // > 0: LoRA's r-wide intermediates
  double lora_modules = 0;                // adapted matrices per token in this layer
};

// Bytes one micro-batch keeps for one layer (dense or MoE) without full recomputation.
double layer_activation_bytes(const ModelSpec& model, bool moe_layer, const ActivationShape& shape,
                              Derivation* derivation = nullptr);

// Bytes a layer keeps under full recomputation: its input.
double checkpoint_bytes(const ModelSpec& model, const ActivationShape& shape);

// The last stage's output: the final norm's input and output, and the logits the loss
// keeps (`logits_bytes` per element over the vocabulary, split by TP).
double output_activation_bytes(const ModelSpec& model, const ActivationShape& shape,
                               double logits_bytes, Derivation* derivation = nullptr);

}  // namespace lmf::planner
