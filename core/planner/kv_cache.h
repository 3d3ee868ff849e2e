// Inference memory beyond the weights: the KV cache, and the transient activations of a
// forward pass (prefill) and of sampling.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/model_spec.h"
#include "core/planner/plan_settings.h"

#include <cstdint>

namespace lmf::planner {

// Note [KV cache]
// Per token and layer a decoder caches K and V: 2 x kv_heads x head_dim x bytes (with
// head_dim_k + head_dim_v when they differ). Tensor parallelism splits the KV heads; when
// TP exceeds them an engine replicates them (vLLM), one head per rank. MLA caches its
// compressed latent instead, (kv_lora_rank + qk_rope_head_dim) x bytes, the same on every
// TP rank (as vLLM's and SGLang's MLA backends do). Pipeline stages hold their own layers'.
double kv_bytes_per_token(const ModelSpec& model, std::int64_t layers, int tp, double kv_bytes);

// The cache of `sequences` sequences of `context` tokens on one GPU of a stage.
double kv_cache_bytes(const ModelSpec& model, const PlanSettings& settings, std::int64_t layers,
                      int tp, std::int64_t sequences, Derivation* derivation = nullptr);

// Transient activations of inference on one GPU: one layer's intermediates for a prefill
// chunk of min(context x sequences, prefill_chunk) tokens, plus fp32 logits of the last
// position of each sequence when `last_stage`.
double inference_workspace_bytes(const ModelSpec& model, const PlanSettings& settings, int tp,
                                 std::int64_t sequences, bool last_stage,
                                 Derivation* derivation = nullptr);

}  // namespace lmf::planner
