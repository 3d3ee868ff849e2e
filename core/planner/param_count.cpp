#include "core/planner/param_count.h"

#include <algorithm>

namespace lmf::planner {
namespace {

constexpr const char* kSection = "parameters";

double d(std::int64_t value) {
  return static_cast<double>(value);
}

void add_attention(const ModelSpec& m, LayerParams& layer, Derivation* derivation) {
  const double h = d(m.hidden), a = d(m.heads);
  if (m.attention == AttentionKind::mla) {
    const double rope = d(m.mla.qk_rope_head_dim), nope = d(m.mla.qk_nope_head_dim);
    const double v = d(m.mla.v_head_dim), kv_rank = d(m.mla.kv_lora_rank);
    const double q_rank = d(m.mla.q_lora_rank);
    double q_split = 0, q_replicated = 0, q_norm = 0;
    if (m.mla.q_lora_rank > 0) {
      q_replicated = h * q_rank;
      q_split = q_rank * a * (nope + rope);
      q_norm = q_rank;
    } else {
      q_split = h * a * (nope + rope);
    }
    layer.attn_replicated = q_replicated + h * (kv_rank + rope);
    layer.attn_split = q_split + kv_rank * a * (nope + v) + a * v * h;
    layer.norms += q_norm + kv_rank;
    layer.largest_matrix = std::max({layer.largest_matrix, q_split, a * v * h});
    record(
        derivation, kSection, "attention matrices per layer (MLA)",
        m.mla.q_lora_rank > 0
            ? "h*r_q + r_q*a*(d_nope+d_rope) + h*(r_kv+d_rope) + r_kv*a*(d_nope+d_v) + a*d_v*h"
            : "h*a*(d_nope+d_rope) + h*(r_kv+d_rope) + r_kv*a*(d_nope+d_v) + a*d_v*h",
        [&] {
          std::string q = m.mla.q_lora_rank > 0
                              ? num(h) + "*" + num(q_rank) + " + " + num(q_rank) + "*" + num(a) +
                                    "*(" + num(nope) + "+" + num(rope) + ")"
                              : num(h) + "*" + num(a) + "*(" + num(nope) + "+" + num(rope) + ")";
          return q + " + " + num(h) + "*(" + num(kv_rank) + "+" + num(rope) + ") + " +
                 num(kv_rank) + "*" + num(a) + "*(" + num(nope) + "+" + num(v) + ") + " + num(a) +
                 "*" + num(v) + "*" + num(h);
        },
        layer.attn_split + layer.attn_replicated, Unit::count);
    return;
  }
  const double dq = d(m.head_dim), kv = d(m.kv_heads);
  const double q_width = a * dq, kv_width = kv * dq;
  layer.attn_split = h * q_width + 2 * h * kv_width + q_width * h;
  layer.largest_matrix = std::max(layer.largest_matrix, h * q_width);
  if (m.qkv_bias) layer.attn_bias += q_width + 2 * kv_width;
  if (m.o_bias) layer.attn_bias += h;
  if (m.qk_norm) layer.norms += 2 * dq;
  record(
      derivation, kSection, "attention matrices per layer", "h*(a*d) + 2*h*(kv*d) + (a*d)*h",
      [&] {
        return num(h) + "*(" + num(a) + "*" + num(dq) + ") + 2*" + num(h) + "*(" + num(kv) + "*" +
               num(dq) + ") + (" + num(a) + "*" + num(dq) + ")*" + num(h);
      },
      layer.attn_split, Unit::count);
  if (layer.attn_bias > 0)
    record(
        derivation, kSection, "attention biases per layer",
        std::string(m.qkv_bias ? "a*d + 2*kv*d" : "") + (m.o_bias ? " + h" : ""),
        [&] { return num(q_width) + " + 2*" + num(kv_width) + (m.o_bias ? " + " + num(h) : ""); },
        layer.attn_bias, Unit::count);
}

double mlp_matrices(const ModelSpec& m, double width) {
  const double h = d(m.hidden);
  return (m.mlp == MlpKind::gated ? 3 : 2) * h * width;
}

}  // namespace

ParamCounts count_parameters(const ModelSpec& m, Derivation* derivation) {
  ParamCounts counts;
  if (!m.has_architecture()) {
    counts.total = counts.active = counts.matmul_active = counts.matrices = m.bare_params;
    record(
        derivation, kSection, "total", "given (--params)", [&] { return num(m.bare_params); },
        m.bare_params, Unit::count);
    return counts;
  }
  const double h = d(m.hidden), v = d(m.vocab);
  const char* mlp_formula = m.mlp == MlpKind::gated ? "3*h*i" : "2*h*i";
  const double mlp_factor = m.mlp == MlpKind::gated ? 3 : 2;

  counts.embedding = record(
      derivation, kSection, "input embedding", "V*h", [&] { return num(v) + "*" + num(h); }, v * h,
      Unit::count);
  if (m.tied_embeddings) {
    if (derivation)
      derivation->note(kSection, "output projection: tied to the input embedding (0 extra)");
  } else {
    counts.lm_head = record(
        derivation, kSection, "output projection (lm_head)", "V*h",
        [&] { return num(v) + "*" + num(h); }, v * h, Unit::count);
  }
  counts.final_norm = h;

  LayerParams base;
  base.norms = 2 * h;  // the RMSNorm before attention and the one before the MLP
  add_attention(m, base, derivation);

  counts.dense_layer = base;
  if (m.intermediate > 0) {
    const double i = d(m.intermediate);
    counts.dense_layer.mlp_split = mlp_matrices(m, i);
    if (m.mlp_bias) counts.dense_layer.mlp_bias = (mlp_factor - 1) * i + h;
    counts.dense_layer.largest_matrix = std::max(counts.dense_layer.largest_matrix, h * i);
  }

  counts.moe_layers = m.moe_layer_count();
  counts.dense_layers = m.layers - counts.moe_layers;
  if (counts.dense_layers > 0) {
    record(
        derivation, kSection, "dense MLP per layer", mlp_formula,
        [&] { return num(mlp_factor) + "*" + num(h) + "*" + num(d(m.intermediate)); },
        counts.dense_layer.mlp_split, Unit::count);
    record(
        derivation, kSection, "dense layer",
        "attention + MLP + norms 2*h" + std::string(m.qk_norm ? " + 2*d (q/k norms)" : ""),
        [&] {
          const LayerParams& l = counts.dense_layer;
          return num(l.attn_split + l.attn_replicated + l.attn_bias) + " + " +
                 num(l.mlp_split + l.mlp_bias) + " + " + num(l.norms);
        },
        counts.dense_layer.total(), Unit::count);
  }

  if (m.is_moe()) {
    const MoeSpec& moe = m.moe;
    LayerParams& layer = counts.moe_layer;
    layer = base;
    const double e = d(moe.routed_experts), k = d(moe.experts_per_token);
    const double ie = d(moe.expert_intermediate), shared = d(moe.shared_intermediate);
    const double one_expert = 3 * h * ie;
    layer.experts = record(
        derivation, kSection, "routed experts per MoE layer", "E*3*h*i_e",
        [&] { return num(e) + "*3*" + num(h) + "*" + num(ie); }, e * one_expert, Unit::count);
    layer.experts_active = record(
        derivation, kSection, "active routed experts per MoE layer", "k*3*h*i_e",
        [&] { return num(k) + "*3*" + num(h) + "*" + num(ie); }, k * one_expert, Unit::count);
    layer.mlp_split = 3 * h * shared;
    if (shared > 0)
      record(
          derivation, kSection, "shared experts per MoE layer", "3*h*i_shared",
          [&] { return "3*" + num(h) + "*" + num(shared); }, layer.mlp_split, Unit::count);
    layer.router = e * h + (moe.router_bias ? e : 0) + (moe.shared_expert_gate ? h : 0);
    record(
        derivation, kSection, "router per MoE layer",
        std::string("E*h") + (moe.router_bias ? " + E" : "") +
            (moe.shared_expert_gate ? " + h" : ""),
        [&] {
          return num(e) + "*" + num(h) + (moe.router_bias ? " + " + num(e) : "") +
                 (moe.shared_expert_gate ? " + " + num(h) : "");
        },
        layer.router, Unit::count);
    layer.largest_matrix = std::max(layer.largest_matrix, h * std::max(ie, shared));
  }

  const double layers_total = d(counts.dense_layers) * counts.dense_layer.total() +
                              d(counts.moe_layers) * counts.moe_layer.total();
  const double layers_active = d(counts.dense_layers) * counts.dense_layer.active() +
                               d(counts.moe_layers) * counts.moe_layer.active();
  counts.matrices = d(counts.dense_layers) * counts.dense_layer.matrices() +
                    d(counts.moe_layers) * counts.moe_layer.matrices();
  const double outer = counts.embedding + counts.lm_head + counts.final_norm;
  counts.total = record(
      derivation, kSection, "total",
      m.is_moe() ? "embeddings + L_dense*dense layer + L_moe*MoE layer + final norm"
                 : "embeddings + L*layer + final norm",
      [&] {
        std::string text = num(counts.embedding + counts.lm_head) + " + ";
        if (counts.dense_layers > 0)
          text += num(d(counts.dense_layers)) + "*" + num(counts.dense_layer.total());
        if (m.is_moe())
          text += (counts.dense_layers > 0 ? " + " : "") + num(d(counts.moe_layers)) + "*" +
                  num(counts.moe_layer.total());
        return text + " + " + num(counts.final_norm);
      },
      outer + layers_total, Unit::count);
  counts.active = outer + layers_active;
  if (m.is_moe())
    record(
        derivation, kSection, "active per token",
        "embeddings + L_dense*dense layer + L_moe*(MoE layer - E experts + k experts) + norm",
        [&] {
          return num(counts.embedding + counts.lm_head) + " + " + num(d(counts.dense_layers)) +
                 "*" + num(counts.dense_layer.active()) + " + " + num(d(counts.moe_layers)) + "*" +
                 num(counts.moe_layer.active()) + " + " + num(counts.final_norm);
        },
        counts.active, Unit::count);
  counts.matmul_active = record(
      derivation, kSection, "N (active, in matrix multiplications)",
      m.tied_embeddings ? "active (the tied embedding is the output projection)"
                        : "active - input embedding (a lookup, no FLOPs)",
      [&] {
        return m.tied_embeddings ? num(counts.active)
                                 : num(counts.active) + " - " + num(counts.embedding);
      },
      counts.active - (m.tied_embeddings ? 0 : counts.embedding), Unit::count);
  return counts;
}

}  // namespace lmf::planner
