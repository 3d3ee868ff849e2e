// Activation memory of training: what the backward pass needs kept, per layer and per
// tensor-parallel rank.
//
// Note [Activation memory]
// Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer
// Models", sec. 4) count the bytes a GPT layer keeps for its backward pass: 34sbh +
// 5as^2b with 16-bit activations, LayerNorm and dropout, and show which terms tensor
// parallelism (t) and sequence parallelism divide. We count the same way, tensor by
// tensor, what autograd saves in the layers these models have (B bytes per activation):
//   - each norm: its input (and per-row statistics), see Note [Saved tensors];
//   - a linear keeps its input only if its weight trains: the norm's output for q/k/v
//     and for gate/up, the SwiGLU product for down; the output projection's input is the
//     attention output, already kept by the attention;
//   - attention: Q, K, V (after RoPE, whose cos/sin are shared by all layers) and its
//     output; the softmax output (eager attention, 2as^2b, plus as^2b + 2as^2b with
//     dropout) or FlashAttention's fp32 log-sum-exp (4asb); MLA adds its latents;
//   - a SwiGLU MLP keeps what SiLU and the product need (gate, SiLU output, up), a GELU
//     MLP the GELU's input;
//   - an MoE MLP keeps the router's fp32 logits and probabilities, k copies of each token
//     dispatched to its experts, the experts' intermediates and outputs, and the shared
//     experts' intermediates;
//   - dropout masks (1 byte) only where the model has dropout (GPT; none of the presets).
// A frozen base (LoRA, QLoRA) keeps no linear's input; its adapters keep theirs, cast to
// the adapter dtype, and their r-wide intermediates. MoE MLPs and MLA attention keep the
// trainable-base terms under a frozen base too (every linear's input at B bytes): an upper
// bound on the base's tensors, without the adapters' casts.
// With eager attention, GELU, i = 4h, dropout, no GQA and a 16-bit norm input this gives
// the paper's 34sbh + 5as^2b exactly (tests/planner/activation_model_test.cpp). Without
// sequence parallelism the norms' tensors, the h-wide linear inputs and the dropout masks
// are replicated on every TP rank (the paper's 10sbh); with it everything is divided by t.
// Recomputation: "selective" drops the attention-core terms (recomputed in backward, as
// in the paper); "full" keeps each layer's input only, plus one layer's activations live
// while its backward runs.
//
// Note [Saved tensors]
// Where training codes differ, the numbers are parameters (SavedTensors), filled for each
// --trainer in one place, saved_tensors_of:
//   - transformers' RMSNorm widens its input to fp32 and keeps that copy (4 bytes x h)
//     and the fp32 1/rms per row; when its weight trains, the product weight * normed
//     also keeps `normed` (B x h). A fused kernel keeps the B-byte input and the 1/rms;
//   - a SwiGLU MLP in PyTorch ops keeps gate, silu(gate) and up (3 widths of i); a fused
//     SwiGLU keeps gate and up (2); down's input (the product) is counted as a linear's;
//   - PEFT casts each adapted module's input to the adapter dtype separately; lmforge
//     casts the attention input once for q/k/v and the MLP input once for gate/up. When
//     the adapter dtype is the activation's, the cast is a no-op and the adapters share
//     the activation itself.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/model_spec.h"
#include "core/planner/plan_settings.h"

#include <string>
#include <vector>

namespace lmf::planner {

// Note [Saved tensors]: what the training code keeps where implementations differ.
// The defaults are transformers + PEFT with 16-bit activations.
struct SavedTensors {
  double norm_input_bytes = 4;        // per element of a norm's input
  double norm_row_bytes = 4;          // per token and norm: the fp32 1/rms
  double norm_weight_widths = 1;      // B-byte h-wide tensors a trainable norm weight keeps
  double gated_mlp_widths = 3;        // i-wide tensors SiLU and the product keep
  double adapter_bytes = 4;           // per element of an adapter's input and intermediate
  bool shared_adapter_casts = false;  // one cast of a shared input for all its adapters
  // The loss: 0 keeps the whole logits (`logits_bytes` per element, PlanSettings);
  // otherwise they exist only this many tokens at a time, `loss_chunk_bytes` per element
  // while a chunk is live, and the loss keeps its input and an fp32 log-sum-exp per token.
  double loss_chunk_tokens = 0;
  double loss_chunk_bytes = 0;
};

// The profile of each --trainer for activations of `activation_bytes` and adapters of
// `adapter_bytes` per element.
SavedTensors saved_tensors_of(Trainer trainer, double activation_bytes, double adapter_bytes);

// The projections of a layer that carry LoRA adapters.
struct AdaptedModules {
  bool q = false, k = false, v = false, o = false;
  bool gate = false, up = false, down = false;
};
AdaptedModules adapted_modules(const std::vector<std::string>& lora_targets);

struct ActivationShape {
  double seq = 0;    // s
  double batch = 0;  // b, the micro-batch
  int tp = 1;
  bool sequence_parallel = true;
  double bytes = 2;  // B, per element: 2 for bf16/fp16 training, 4 for fp32
  AttentionImpl attention = AttentionImpl::flash;
  bool recompute_attention_core = false;  // selective recomputation
  SavedTensors saved;
  bool frozen_base = false;  // LoRA, QLoRA: only the adapters train
  AdaptedModules adapted;    // with a frozen base
  double lora_rank = 0;      // > 0: LoRA's r-wide intermediates
  double lora_modules = 0;   // adapted matrices per token in this layer
};

// Bytes one micro-batch keeps for one layer (dense or MoE) without full recomputation.
double layer_activation_bytes(const ModelSpec& model, bool moe_layer, const ActivationShape& shape,
                              Derivation* derivation = nullptr);

// Bytes a layer keeps under full recomputation: its input.
double checkpoint_bytes(const ModelSpec& model, const ActivationShape& shape);

// The last stage's output: the final norm's input (and, when the lm_head trains, its
// output), and the logits the loss keeps (`logits_bytes` per element over the
// vocabulary, split by TP).
double output_activation_bytes(const ModelSpec& model, const ActivationShape& shape,
                               double logits_bytes, Derivation* derivation = nullptr);

}  // namespace lmf::planner
