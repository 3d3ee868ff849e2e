// Parameter counts of a ModelSpec, exact from the architecture: total, active per token,
// and the groups the memory model treats differently (quantizable matrices, parameters
// split by tensor parallelism, replicated ones, experts).
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/model_spec.h"

namespace lmf::planner {

// One decoder layer. "split" parameters are divided among tensor-parallel ranks, the
// experts among TP x EP ranks; the rest is replicated on every rank.
struct LayerParams {
  double attn_split = 0;       // q/k/v/o (MLA: q_b or q_proj, kv_b, o): matrices
  double attn_replicated = 0;  // MLA down-projections q_a, kv_a: matrices kept whole
  double attn_bias = 0;        // biases of q/k/v (Qwen2) and o
  double mlp_split = 0;        // the dense MLP, or the shared experts of an MoE layer
  double mlp_bias = 0;
  double experts = 0;         // every routed expert
  double experts_active = 0;  // the routed experts one token goes through
  double router = 0;          // gate (and its bias, shared-expert gate): replicated
  double norms = 0;           // RMSNorm weights: replicated

  double total() const {
    return attn_split + attn_replicated + attn_bias + mlp_split + mlp_bias + experts + router +
           norms;
  }
  double active() const { return total() - experts + experts_active; }
  // The weight matrices a weight-only quantizer (GPTQ, AWQ, NF4) packs.
  double matrices() const { return attn_split + attn_replicated + mlp_split + experts; }
  // The largest single matrix, for the dequantization buffer of QLoRA.
  double largest_matrix = 0;
};

struct ParamCounts {
  double embedding = 0;  // input embedding V x h
  double lm_head = 0;    // output projection V x h; 0 when tied to the embedding
  double final_norm = 0;
  LayerParams dense_layer;
  LayerParams moe_layer;
  std::int64_t dense_layers = 0;
  std::int64_t moe_layers = 0;

  double total = 0;
  double active = 0;
  // Parameters that take part in a matrix multiplication per token: the active ones less
  // the input embedding, a table lookup (with tied embeddings the shared matrix stays:
  // it is the output projection). The N of the 6N FLOPs rule.
  double matmul_active = 0;
  // Quantizable matrices of all decoder layers (a bare count: all parameters).
  double matrices = 0;

  const LayerParams& layer(const ModelSpec& spec, std::int64_t index) const {
    return spec.is_moe_layer(index) ? moe_layer : dense_layer;
  }
};

ParamCounts count_parameters(const ModelSpec& spec, Derivation* derivation = nullptr);

}  // namespace lmf::planner
