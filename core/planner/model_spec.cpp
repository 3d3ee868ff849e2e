#include "core/planner/model_spec.h"

#include "core/planner/units.h"

#include <algorithm>

namespace lmf::planner {

bool ModelSpec::is_moe_layer(std::int64_t layer) const {
  return is_moe() && layer >= 0 && layer < static_cast<std::int64_t>(moe.moe_layers.size()) &&
         moe.moe_layers[static_cast<std::size_t>(layer)];
}

std::int64_t ModelSpec::moe_layer_count() const {
  return std::count(moe.moe_layers.begin(), moe.moe_layers.end(), true);
}

std::int64_t ModelSpec::qk_head_dim() const {
  return attention == AttentionKind::mla ? mla.qk_nope_head_dim + mla.qk_rope_head_dim : head_dim;
}

std::int64_t ModelSpec::v_head_dim() const {
  return attention == AttentionKind::mla ? mla.v_head_dim : head_dim;
}

std::int64_t ModelSpec::key_value_heads() const {
  return attention == AttentionKind::mla ? heads : kv_heads;
}

std::string describe_shape(const ModelSpec& spec) {
  if (!spec.has_architecture())
    return format_count(spec.bare_params) + " parameters (no architecture given)";
  std::string text = std::to_string(spec.layers) + " layers, hidden " +
                     std::to_string(spec.hidden) + ", " + std::to_string(spec.heads) + " heads";
  if (spec.attention == AttentionKind::mla)
    text += " (MLA, KV rank " + std::to_string(spec.mla.kv_lora_rank) + ")";
  else if (spec.kv_heads != spec.heads)
    text += " (" + std::to_string(spec.kv_heads) + " KV)";
  if (spec.is_moe()) {
    text += ", " + std::to_string(spec.moe.routed_experts) + " experts (" +
            std::to_string(spec.moe.experts_per_token) + " per token";
    if (spec.moe.shared_intermediate > 0) text += ", shared";
    text += ") in " + std::to_string(spec.moe_layer_count()) + " layers";
  }
  text += ", vocab " + std::to_string(spec.vocab);
  if (spec.tied_embeddings) text += " (tied)";
  return text;
}

}  // namespace lmf::planner
