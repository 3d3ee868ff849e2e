#include "core/planner/activation_model.h"

#include <algorithm>
#include <functional>
#include <tuple>
#include <utility>

namespace lmf::planner {
namespace {

constexpr const char* kSection = "memory";

double d(std::int64_t value) {
  return static_cast<double>(value);
}

bool has(const std::vector<std::string>& list, const char* name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// A formula and the same formula with its numbers.
struct Text {
  std::string formula;
  std::string numbers;
};

// The bytes one part of a layer keeps, per token, as a sum of saved tensors: those kept
// whole on every TP rank (unless sequence parallel: the norms and the h-wide linear
// inputs) and those split among the ranks. Texts are only built when recording.
class Part {
 public:
  explicit Part(bool recording) : recording_(recording) {}

  void replicated(double bytes, const std::function<Text()>& text) {
    add(replicated_, replicated_text_, bytes, text);
  }
  void split(double bytes, const std::function<Text()>& text) {
    add(split_, split_text_, bytes, text);
  }

  double bytes(const ActivationShape& shape) const {
    return shape.seq * shape.batch * (replicated_ * replicated_share(shape) + split_ / shape.tp);
  }

  // "sb*(4*h + 4)/t + sb*(2*(a*d_qk + ...))/t", and the same with the numbers.
  Text text(const ActivationShape& shape) const {
    const double tokens = shape.seq * shape.batch;
    const bool sp = replicated_share(shape) < 1;
    Text result;
    auto append = [&](const Text& sum, const std::string& share, const std::string& share_n) {
      if (sum.formula.empty()) return;
      if (!result.formula.empty()) {
        result.formula += " + ";
        result.numbers += " + ";
      }
      result.formula += "sb*(" + sum.formula + ")" + share;
      result.numbers += num(tokens) + "*(" + sum.numbers + ")" + share_n;
    };
    append(replicated_text_, sp ? "/t" : "", sp ? "/" + num(shape.tp) : "");
    append(split_text_, "/t", "/" + num(shape.tp));
    if (result.formula.empty()) result = {"0", "0"};
    return result;
  }

 private:
  static double replicated_share(const ActivationShape& shape) {
    return shape.sequence_parallel && shape.tp > 1 ? 1.0 / shape.tp : 1.0;
  }

  void add(double& sum, Text& sum_text, double bytes, const std::function<Text()>& text) {
    if (bytes == 0) return;
    sum += bytes;
    if (!recording_) return;
    const Text term = text();
    sum_text.formula += (sum_text.formula.empty() ? "" : " + ") + term.formula;
    sum_text.numbers += (sum_text.numbers.empty() ? "" : " + ") + term.numbers;
  }

  bool recording_;
  double replicated_ = 0, split_ = 0;
  Text replicated_text_, split_text_;
};

// `bytes`*`symbol` with `bytes`*`value` as its numbers: "4*h", "4*4096".
std::function<Text()> times(double bytes, std::string symbol, double value) {
  return [=] { return Text{num(bytes) + "*" + symbol, num(bytes) + "*" + num(value)}; };
}

// `count` tensors of `bytes`*`symbol` each: "3*4*h", "3*4*4096".
std::function<Text()> times(double count, double bytes, std::string symbol, double value) {
  if (count == 1) return times(bytes, std::move(symbol), value);
  return [=] {
    const std::string factor = num(count) + "*" + num(bytes) + "*";
    return Text{factor + symbol, factor + num(value)};
  };
}

std::function<Text()> constant(double bytes) {
  return [=] { return Text{num(bytes), num(bytes)}; };
}

// A norm (Note [Saved tensors]): its input and 1/rms, and what its weight keeps when it
// trains.
void add_norm(Part& part, const ModelSpec& m, const ActivationShape& shape) {
  const SavedTensors& saved = shape.saved;
  const double h = d(m.hidden);
  part.replicated(saved.norm_input_bytes * h, times(saved.norm_input_bytes, "h", h));
  part.replicated(saved.norm_row_bytes, constant(saved.norm_row_bytes));
  if (!shape.frozen_base) {
    const double widths = saved.norm_weight_widths;
    part.replicated(widths * shape.bytes * h, times(widths, shape.bytes, "h", h));
  }
}

// The input that the adapters of `count` modules sharing one input of `width` elements
// keep (Note [Saved tensors]). `input_kept`: the base already keeps that input (the
// flash output for the output projection), so a no-op cast costs nothing. Dtypes of one
// size (bf16 activations, fp16 adapters) count as a no-op, though PEFT then copies the
// input once per module.
void add_adapter_inputs(Part& part, bool split, int count, double width, const char* symbol,
                        const ActivationShape& shape, bool input_kept = false) {
  if (count == 0) return;
  const SavedTensors& saved = shape.saved;
  const bool casts_copy = saved.adapter_bytes != shape.bytes;
  double copies = 0, bytes = shape.bytes;
  if (!casts_copy) {
    copies = input_kept ? 0 : 1;
  } else {
    copies = saved.shared_adapter_casts ? 1 : count;
    bytes = saved.adapter_bytes;
  }
  auto text = times(copies, bytes, symbol, width);
  if (split)
    part.split(copies * bytes * width, text);
  else
    part.replicated(copies * bytes * width, text);
}

}  // namespace

// Note [Saved tensors]: every number a --trainer profile sets, and where it comes from.
SavedTensors saved_tensors_of(Trainer trainer, double activation_bytes, double adapter_bytes) {
  SavedTensors saved;
  saved.adapter_bytes = adapter_bytes;
  switch (trainer) {
    case Trainer::hf:
      // transformers' LlamaRMSNorm/Qwen2RMSNorm: x.to(fp32) is kept by pow and by the
      // product with rsqrt (4 bytes, whatever the activation dtype), rsqrt's fp32 output
      // per row by the product and by rsqrt; weight * normed.to(B) keeps normed when the
      // weight trains.
      saved.norm_input_bytes = 4;
      saved.norm_row_bytes = 4;
      saved.norm_weight_widths = 1;
      // act_fn(gate) * up: silu keeps gate, the product keeps silu(gate) and up.
      saved.gated_mlp_widths = 3;
      // PEFT's LoRA Linear: x.to(lora_A.weight.dtype) in every adapted module.
      saved.shared_adapter_casts = false;
      break;
    case Trainer::lmforge:
      // lmforge's fused CUDA kernels: the RMSNorm keeps its B-byte input and the fp32
      // 1/rms, and recomputes normed for the weight's gradient; the SwiGLU kernel keeps
      // gate and up. One cast of the attention input for q/k/v, one of the MLP input for
      // gate/up.
      saved.norm_input_bytes = activation_bytes;
      saved.norm_row_bytes = 4;
      saved.norm_weight_widths = 0;
      saved.gated_mlp_widths = 2;
      saved.shared_adapter_casts = true;
      // Note [Gradient in the forward pass] (training/lm_loss.h): 4096 tokens at a time
      // (the trainer's loss_chunk_tokens), each chunk's logits in the activations' dtype,
      // turned into their gradient in place: B bytes per element while a chunk is live.
      saved.loss_chunk_tokens = 4096;
      saved.loss_chunk_bytes = activation_bytes;
      break;
  }
  return saved;
}

AdaptedModules adapted_modules(const std::vector<std::string>& targets) {
  AdaptedModules adapted;
  adapted.q = has(targets, "q");
  adapted.k = has(targets, "k");
  adapted.v = has(targets, "v");
  adapted.o = has(targets, "o");
  adapted.gate = has(targets, "gate");
  adapted.up = has(targets, "up");
  adapted.down = has(targets, "down");
  return adapted;
}

double layer_activation_bytes(const ModelSpec& m, bool moe_layer, const ActivationShape& shape,
                              Derivation* derivation) {
  const bool recording = derivation != nullptr;
  const double B = shape.bytes;
  const double h = d(m.hidden), a = d(m.heads);
  const double dqk = d(m.qk_head_dim()), dv = d(m.v_head_dim());
  const double kv = d(m.key_value_heads());
  const AdaptedModules& adapted = shape.adapted;
  const bool mla = m.attention == AttentionKind::mla;
  // Note [Activation memory]: under a frozen base, MLA attention and MoE MLPs keep the
  // trainable-base terms, an upper bound.
  const bool frozen_attention = shape.frozen_base && !mla;
  const bool frozen_mlp = shape.frozen_base && !moe_layer;

  Part attention(recording);
  add_norm(attention, m, shape);
  if (!frozen_attention) attention.replicated(B * h, times(B, "h", h));  // q/k/v input
  if (mla) {
    const double q_rank = d(m.mla.q_lora_rank), kv_rank = d(m.mla.kv_lora_rank);
    const double latent = 2 * q_rank + 2 * kv_rank + d(m.mla.qk_rope_head_dim);
    // q_a out and its norm's out, kv_a out (latent and rope part) and its norm's out
    attention.replicated(B * latent, times(B, "(2r_q + 2r_kv + d_rope)", latent));
  }
  // Q, K, V and the attention output (the output projection's input)
  const double qkvo = a * dqk + kv * dqk + kv * dv + a * dv;
  attention.split(B * qkvo, [&] {
    return Text{num(B) + "*(a*d_qk + kv*d_qk + kv*d_v + a*d_v)",
                num(B) + "*(" + num(a) + "*" + num(dqk) + " + " + num(kv) + "*" + num(dqk) + " + " +
                    num(kv) + "*" + num(dv) + " + " + num(a) + "*" + num(dv) + ")"};
  });
  if (!shape.recompute_attention_core) {
    if (shape.attention == AttentionImpl::eager) {
      // softmax output 2as^2b (+ dropout mask as^2b and dropout output 2as^2b)
      const double bytes = m.dropout ? 1 + 2 * B : B;
      attention.split(bytes * a * shape.seq, [&] {
        return Text{num(bytes) + "*a*s", num(bytes) + "*" + num(a) + "*" + num(shape.seq)};
      });
    } else {
      attention.split(4 * a, times(4, "a", a));  // FlashAttention: fp32 log-sum-exp per row
    }
  }
  if (m.dropout) attention.replicated(h, times(1, "h", h));  // dropout mask
  if (frozen_attention) {
    add_adapter_inputs(attention, false, adapted.q + adapted.k + adapted.v, h, "h", shape);
    add_adapter_inputs(attention, true, adapted.o, a * dv, "a*d_v", shape, /*input_kept=*/true);
  }

  Part mlp(recording);
  add_norm(mlp, m, shape);
  const bool gated = m.mlp == MlpKind::gated;
  const double i = d(m.intermediate);
  if (moe_layer) {
    const double k = d(m.moe.experts_per_token), e = d(m.moe.routed_experts);
    const double widths = k * d(m.moe.expert_intermediate) + d(m.moe.shared_intermediate);
    mlp.replicated(B * h, times(B, "h", h));  // the experts' and the router's input
    mlp.replicated(2 * B * k * h, times(2 * B, "k*h", k * h));  // dispatched copies, outputs
    mlp.split(4 * B * widths, [&] {
      return Text{num(4 * B) + "*(k*i_e + i_shared)",
                  num(4 * B) + "*(" + num(k) + "*" + num(d(m.moe.expert_intermediate)) + " + " +
                      num(d(m.moe.shared_intermediate)) + ")"};
    });
    mlp.replicated(8 * e, times(8, "E", e));  // router logits and probabilities, fp32
  } else {
    // what the activation keeps: gate, SiLU output, up (SwiGLU) or the GELU's input
    const double widths = gated ? shape.saved.gated_mlp_widths : 1;
    mlp.split(widths * B * i, times(widths, B, "i", i));
    if (!frozen_mlp) {
      mlp.replicated(B * h, times(B, "h", h));  // gate/up (fc1) input
      mlp.split(B * i, times(B, "i", i));       // down's input
    }
  }
  if (m.dropout) mlp.replicated(h, times(1, "h", h));  // dropout mask
  if (frozen_mlp) {
    add_adapter_inputs(mlp, false, (gated && adapted.gate) + adapted.up, h, "h", shape);
    add_adapter_inputs(mlp, true, adapted.down, i, "i", shape);
  }

  Part lora(recording);  // lora_A's outputs, kept by lora_B
  const double A = shape.saved.adapter_bytes;
  lora.replicated(A * shape.lora_rank * shape.lora_modules, [&] {
    return Text{num(A) + "*r*modules",
                num(A) + "*" + num(shape.lora_rank) + "*" + num(shape.lora_modules)};
  });

  const double attention_bytes = attention.bytes(shape);
  const double mlp_bytes = mlp.bytes(shape);
  const double lora_bytes = lora.bytes(shape);
  const double total = attention_bytes + mlp_bytes + lora_bytes;
  if (derivation) {
    const bool adapters = lora_bytes > 0;
    record(
        derivation, kSection,
        std::string("activations of one ") + (moe_layer ? "MoE" : "dense") + " layer",
        "attention + MLP" + std::string(adapters ? " + LoRA intermediates" : ""),
        [&] {
          return num(attention_bytes) + " + " + num(mlp_bytes) +
                 (adapters ? " + " + num(lora_bytes) : "");
        },
        total, Unit::bytes);
    for (const auto& [name, part, bytes] :
         {std::tuple{"  attention", &attention, attention_bytes},
          std::tuple{moe_layer ? "  MoE MLP" : "  MLP", &mlp, mlp_bytes},
          std::tuple{"  LoRA intermediates", &lora, lora_bytes}}) {
      if (bytes == 0 && part == &lora) continue;
      const Text text = part->text(shape);
      record(
          derivation, kSection, name, text.formula, [&] { return text.numbers; }, bytes,
          Unit::bytes);
    }
  }
  return total;
}

double checkpoint_bytes(const ModelSpec& m, const ActivationShape& shape) {
  Part input(false);
  input.replicated(shape.bytes * d(m.hidden), {});
  return input.bytes(shape);
}

double output_activation_bytes(const ModelSpec& m, const ActivationShape& shape,
                               double logits_bytes, Derivation* derivation) {
  const double tokens = shape.seq * shape.batch;
  const double h = d(m.hidden);
  Part norm(derivation != nullptr);
  add_norm(norm, m, shape);
  // the lm_head's input, kept when the lm_head trains
  if (!shape.frozen_base) norm.replicated(shape.bytes * h, times(shape.bytes, "h", h));
  const SavedTensors& saved = shape.saved;
  const bool chunked = saved.loss_chunk_tokens > 0;
  // A chunked loss keeps the lm_head's input itself, trainable or not, and fp32 lse.
  if (chunked && shape.frozen_base) norm.replicated(shape.bytes * h, times(shape.bytes, "h", h));
  const double norm_bytes = norm.bytes(shape);
  const double chunk = std::min(saved.loss_chunk_tokens, tokens);
  const double logits = chunked ? saved.loss_chunk_bytes * chunk * d(m.vocab) / shape.tp + 4 * tokens
                                : logits_bytes * tokens * d(m.vocab) / shape.tp;
  const double total = norm_bytes + logits;
  if (derivation) {
    const Text text = norm.text(shape);
    if (chunked)
      record(
          derivation, kSection, "output activations (last stage)",
          text.formula + " (final norm) + " + num(saved.loss_chunk_bytes) +
              "*min(chunk, sb)*V/t (one chunk of logits live) + 4sb (log-sum-exp)",
          [&] {
            return text.numbers + " + " + num(saved.loss_chunk_bytes) + "*" + num(chunk) + "*" +
                   num(d(m.vocab)) + "/" + num(shape.tp) + " + 4*" + num(tokens);
          },
          total, Unit::bytes);
    else
      record(
          derivation, kSection, "output activations (last stage)",
          text.formula + " (final norm) + " + num(logits_bytes) + "*sbV/t (logits kept for the loss)",
          [&] {
            return text.numbers + " + " + num(logits_bytes) + "*" + num(tokens) + "*" +
                   num(d(m.vocab)) + "/" + num(shape.tp);
          },
          total, Unit::bytes);
  }
  return total;
}

}  // namespace lmf::planner
