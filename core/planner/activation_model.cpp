#include "core/planner/activation_model.h"

namespace lmf::planner {
namespace {

constexpr const char* kSection = "memory";

double d(std::int64_t value) {
  return static_cast<double>(value);
}

// Elements of width `width` per token: sbh-style terms.
struct Terms {
  double replicated = 0;  // elements kept whole on every TP rank (unless sequence parallel)
  double split = 0;       // elements divided among TP ranks
  double mask_bytes = 0;  // 1-byte dropout masks, replicated like the norms
};

double to_bytes(const Terms& terms, const ActivationShape& shape) {
  const double t = shape.tp;
  const double replicated_share = shape.sequence_parallel && shape.tp > 1 ? 1 / t : 1;
  return shape.bytes * (terms.replicated * replicated_share + terms.split / t) +
         terms.mask_bytes * replicated_share;
}

}  // namespace

double layer_activation_bytes(const ModelSpec& m, bool moe_layer, const ActivationShape& shape,
                              Derivation* derivation) {
  const double tokens = shape.seq * shape.batch;  // sb
  const double h = d(m.hidden), a = d(m.heads);
  const double dqk = d(m.qk_head_dim()), dv = d(m.v_head_dim());
  const double kv = d(m.key_value_heads());
  Terms attention;
  attention.replicated = 2 * tokens * h;  // norm input, norm output (= q/k/v input)
  if (m.attention == AttentionKind::mla) {
    const double q_rank = d(m.mla.q_lora_rank), kv_rank = d(m.mla.kv_lora_rank);
    attention.replicated += 2 * tokens * q_rank  // q_a out, its norm out
                            + tokens * (kv_rank + d(m.mla.qk_rope_head_dim))  // kv_a out
                            + tokens * kv_rank;                               // its norm out
  }
  attention.split = tokens * (a * dqk + kv * dqk + kv * dv)  // Q, K, V
                    + tokens * a * dv;                       // input of the output projection
  double core_bytes = 0;                                     // bytes, already per TP rank
  if (!shape.recompute_attention_core) {
    if (shape.attention == AttentionImpl::eager) {
      // softmax output 2as^2b (+ dropout mask as^2b and dropout output 2as^2b)
      const double scores = a * shape.seq * tokens / shape.tp;
      core_bytes = shape.bytes * scores + (m.dropout ? (1 + shape.bytes) * scores : 0);
    } else {
      core_bytes = 4 * a * tokens / shape.tp;  // FlashAttention: fp32 log-sum-exp per row
    }
  }
  if (m.dropout) attention.mask_bytes = tokens * h;

  Terms mlp;
  mlp.replicated = 2 * tokens * h;  // norm input, norm output (= MLP input)
  const double per_width = m.mlp == MlpKind::gated ? 4 : 2;
  if (moe_layer) {
    const double e = d(m.moe.routed_experts), k = d(m.moe.experts_per_token);
    mlp.replicated += 2 * tokens * k * h;  // tokens dispatched to k experts, expert outputs
    mlp.split =
        4 * tokens * k * d(m.moe.expert_intermediate) + 4 * tokens * d(m.moe.shared_intermediate);
    mlp.mask_bytes = 8 * tokens * e;  // router logits and probabilities, fp32
  } else {
    mlp.split = per_width * tokens * d(m.intermediate);
  }
  if (m.dropout) mlp.mask_bytes += tokens * h;

  Terms lora;
  lora.replicated = tokens * shape.lora_rank * shape.lora_modules;

  const double attention_bytes = to_bytes(attention, shape) + core_bytes;
  const double mlp_bytes = to_bytes(mlp, shape);
  const double lora_bytes = to_bytes(lora, shape);
  const double total = attention_bytes + mlp_bytes + lora_bytes;
  if (derivation) {
    // Replicated terms are divided by t only under sequence parallelism.
    const bool sp = shape.sequence_parallel && shape.tp > 1;
    const std::string share = sp ? "/t" : "";
    const std::string share_n = sp ? "/" + num(shape.tp) : "";
    record(
        derivation, kSection,
        std::string("activations of one ") + (moe_layer ? "MoE" : "dense") + " layer",
        "attention + MLP" + std::string(shape.lora_rank > 0 ? " + LoRA" : ""),
        [&] {
          return num(attention_bytes) + " + " + num(mlp_bytes) +
                 (shape.lora_rank > 0 ? " + " + num(lora_bytes) : "");
        },
        total, Unit::bytes);
    std::string core = shape.recompute_attention_core ? "0 (recomputed)"
                       : shape.attention == AttentionImpl::eager
                           ? (m.dropout ? "5as^2b/t" : "2as^2b/t")
                           : "4asb/t (flash log-sum-exp)";
    const bool mla = m.attention == AttentionKind::mla;
    const double latent = attention.replicated / tokens - 2 * h;  // MLA: 2r_q + 2r_kv + d_rope
    record(
        derivation, kSection, "  attention",
        "bytes*(2sbh" + std::string(mla ? " + sb*(2r_q + 2r_kv + d_rope)" : "") + share +
            " + sb*(a*d_qk + kv*d_qk + kv*d_v + a*d_v)/t) + " + core +
            (m.dropout ? " + sbh" + share : ""),
        [&] {
          return num(shape.bytes) + "*(" + (mla ? "(" : "") + "2*" + num(tokens) + "*" + num(h) +
                 (mla ? " + " + num(tokens) + "*" + num(latent) + ")" : "") + share_n + " + " +
                 num(tokens) + "*(" + num(a) + "*" + num(dqk) + " + " + num(kv) + "*" + num(dqk) +
                 " + " + num(kv) + "*" + num(dv) + " + " + num(a) + "*" + num(dv) + ")/" +
                 num(shape.tp) + ") + " + num(core_bytes) +
                 (m.dropout ? " + " + num(attention.mask_bytes) + share_n : "");
        },
        attention_bytes, Unit::bytes);
    if (moe_layer)
      record(
          derivation, kSection, "  MoE MLP",
          "bytes*((2sbh + 2sbkh)" + share + " + 4sb*(k*i_e + i_shared)/t) + 8sbE" + share,
          [&] {
            return num(shape.bytes) + "*((2*" + num(tokens) + "*" + num(h) + " + 2*" + num(tokens) +
                   "*" + num(d(m.moe.experts_per_token)) + "*" + num(h) + ")" + share_n + " + 4*" +
                   num(tokens) + "*(" + num(d(m.moe.experts_per_token)) + "*" +
                   num(d(m.moe.expert_intermediate)) + " + " + num(d(m.moe.shared_intermediate)) +
                   ")/" + num(shape.tp) + ") + 8*" + num(tokens) + "*" +
                   num(d(m.moe.routed_experts)) + share_n;
          },
          mlp_bytes, Unit::bytes);
    else
      record(
          derivation, kSection, "  MLP",
          "bytes*(2sbh" + share + " + " + num(per_width) + "sbi/t)" +
              (m.dropout ? " + sbh" + share : ""),
          [&] {
            return num(shape.bytes) + "*(2*" + num(tokens) + "*" + num(h) + share_n + " + " +
                   num(per_width) + "*" + num(tokens) + "*" + num(d(m.intermediate)) + "/" +
                   num(shape.tp) + ")";
          },
          mlp_bytes, Unit::bytes);
    if (shape.lora_rank > 0)
      record(
          derivation, kSection, "  LoRA intermediates", "bytes*sb*r*modules" + share,
          [&] {
            return num(shape.bytes) + "*" + num(tokens) + "*" + num(shape.lora_rank) + "*" +
                   num(shape.lora_modules) + share_n;
          },
          lora_bytes, Unit::bytes);
  }
  return total;
}

double checkpoint_bytes(const ModelSpec& m, const ActivationShape& shape) {
  Terms input;
  input.replicated = shape.seq * shape.batch * d(m.hidden);
  return to_bytes(input, shape);
}

double output_activation_bytes(const ModelSpec& m, const ActivationShape& shape,
                               double logits_bytes, Derivation* derivation) {
  const double tokens = shape.seq * shape.batch;
  Terms norm;
  norm.replicated = 2 * tokens * d(m.hidden);
  const double logits = logits_bytes * tokens * d(m.vocab) / shape.tp;
  const double total = to_bytes(norm, shape) + logits;
  record(
      derivation, kSection, "output activations (last stage)",
      "bytes*2sbh (final norm) + " + num(logits_bytes) + "*sbV/t (logits kept for the loss)",
      [&] {
        return num(to_bytes(norm, shape)) + " + " + num(logits_bytes) + "*" + num(tokens) + "*" +
               num(d(m.vocab)) + "/" + num(shape.tp);
      },
      total, Unit::bytes);
  return total;
}

}  // namespace lmf::planner
