#include "core/planner/kv_cache.h"

#include <algorithm>

namespace lmf::planner {
namespace {

constexpr const char* kSection = "memory";

double d(std::int64_t value) {
  return static_cast<double>(value);
}

}  // namespace

double kv_bytes_per_token(const ModelSpec& m, std::int64_t layers, int tp, double kv_bytes) {
  if (!m.has_architecture()) return 0;
  if (m.attention == AttentionKind::mla)
    return d(layers) * d(m.mla.kv_lora_rank + m.mla.qk_rope_head_dim) * kv_bytes;
  const double heads_per_gpu = m.kv_heads >= tp ? d(m.kv_heads) / tp : 1;
  return d(layers) * heads_per_gpu * d(m.head_dim + m.v_head_dim()) * kv_bytes;
}

double kv_cache_bytes(const ModelSpec& m, const PlanSettings& s, std::int64_t layers, int tp,
                      std::int64_t sequences, Derivation* derivation) {
  const double per_token = kv_bytes_per_token(m, layers, tp, s.kv_bytes);
  const double tokens = d(s.context) * d(sequences);
  if (m.attention == AttentionKind::mla)
    return record(
        derivation, kSection, "KV cache",
        "L_stage * (r_kv + d_rope) * bytes_kv * context * sequences (MLA latent)",
        [&] {
          return num(d(layers)) + "*(" + num(d(m.mla.kv_lora_rank)) + "+" +
                 num(d(m.mla.qk_rope_head_dim)) + ")*" + num(s.kv_bytes) + "*" + num(d(s.context)) +
                 "*" + num(d(sequences));
        },
        per_token * tokens, Unit::bytes);
  return record(
      derivation, kSection, "KV cache",
      m.kv_heads >= tp ? "L_stage * (kv/t) * (d_k + d_v) * bytes_kv * context * sequences"
                       : "L_stage * 1 * (d_k + d_v) * bytes_kv * context * sequences (KV heads "
                         "replicated: TP > kv)",
      [&] {
        return num(d(layers)) + "*" +
               (m.kv_heads >= tp ? "(" + num(d(m.kv_heads)) + "/" + num(tp) + ")" : "1") + "*(" +
               num(d(m.head_dim)) + "+" + num(d(m.v_head_dim())) + ")*" + num(s.kv_bytes) + "*" +
               num(d(s.context)) + "*" + num(d(sequences));
      },
      per_token * tokens, Unit::bytes);
}

double inference_workspace_bytes(const ModelSpec& m, const PlanSettings& s, int tp,
                                 std::int64_t sequences, bool last_stage, Derivation* derivation) {
  if (!m.has_architecture()) return 0;
  const double chunk = std::min(d(s.context) * d(sequences), d(s.prefill_chunk));
  const double h = d(m.hidden), a = d(m.heads), kv = d(m.key_value_heads());
  const double dqk = d(m.qk_head_dim()), dv = d(m.v_head_dim());
  const double per_width = m.mlp == MlpKind::gated ? 3 : 2;  // gate, up, their product
  double mlp_width = m.layers > m.moe_layer_count() ? d(m.intermediate) : 0;
  double dispatched = 0;
  if (m.is_moe()) {
    const double k = d(m.moe.experts_per_token);
    mlp_width =
        std::max(mlp_width, k * d(m.moe.expert_intermediate) + d(m.moe.shared_intermediate));
    dispatched = 2 * k * h;  // dispatched copies and expert outputs
  }
  const double bytes = 2;  // 16-bit activations, also for int4/int8 weights
  const double per_token = 2 * h + dispatched + (a * dqk + kv * dqk + kv * dv + a * dv) / tp +
                           per_width * mlp_width / tp;
  const double layer = bytes * chunk * per_token;
  const double logits = last_stage ? 4 * d(sequences) * d(m.vocab) / tp : 0;
  return record(
      derivation, kSection, "activations (prefill chunk + logits)",
      "2 bytes * T * (2h + (a*d_qk + kv*d_qk + kv*d_v + a*d_v)/t + " + num(per_width) +
          "*i/t) + 4 bytes * sequences * V/t,  T = min(context*sequences, prefill chunk)",
      [&] {
        return "2*" + num(chunk) + "*" + num(per_token) + " + 4*" + num(d(sequences)) + "*" +
               num(d(m.vocab)) + "/" + num(tp);
      },
      layer + logits, Unit::bytes);
}

}  // namespace lmf::planner
