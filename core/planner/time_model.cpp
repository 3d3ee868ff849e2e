#include "core/planner/time_model.h"

#include <cmath>

namespace lmf::planner {
namespace {

constexpr const char* kSection = "time";

double d(std::int64_t value) {
  return static_cast<double>(value);
}

// Forward FLOPs of attention scores per token attending to `positions` earlier tokens.
double attention_flops(const ModelSpec& m, double positions) {
  if (!m.has_architecture()) return 0;
  return 2 * positions * d(m.layers) * d(m.heads) * d(m.qk_head_dim() + m.v_head_dim());
}

void training_time(const ModelInfo& m, const PlanSettings& s, const Layout& layout,
                   const GpuSpec& gpu, TimeEstimate& t, Derivation* derivation) {
  const double n = m.params.matmul_active;
  const double attention = attention_flops(m.spec, d(s.seq_len));
  const bool adapters = s.method == Method::lora || s.method == Method::qlora;
  record(
      derivation, kSection, "attention FLOPs per token (forward)", "2 * s * L * a * (d_qk + d_v)",
      [&] {
        return "2*" + num(d(s.seq_len)) + "*" + num(d(m.spec.layers)) + "*" + num(d(m.spec.heads)) +
               "*" + num(d(m.spec.qk_head_dim() + m.spec.v_head_dim()));
      },
      attention, Unit::flops);
  if (adapters) {
    const double lora = m.lora.active;
    t.model_flops_per_token = record(
        derivation, kSection, "model FLOPs per token",
        "4N + 6 N_lora + 3 attention (frozen base: no weight gradients)",
        [&] { return "4*" + num(n) + " + 6*" + num(lora) + " + 3*" + num(attention); },
        4 * n + 6 * lora + 3 * attention, Unit::flops);
  } else {
    t.model_flops_per_token = record(
        derivation, kSection, "model FLOPs per token", "6N + 3 attention",
        [&] { return "6*" + num(n) + " + 3*" + num(attention); }, 6 * n + 3 * attention,
        Unit::flops);
  }
  double recompute = 0;
  if (s.checkpointing == Checkpointing::full)
    recompute = 2 * n + (adapters ? 2 * m.lora.active : 0) + attention;
  if (s.checkpointing == Checkpointing::selective) recompute = attention;
  t.flops_per_token = record(
      derivation, kSection, "executed FLOPs per token",
      s.checkpointing == Checkpointing::full        ? "model + 2N + attention (full recomputation)"
      : s.checkpointing == Checkpointing::selective ? "model + attention (selective recomputation)"
                                                    : "model (no recomputation)",
      [&] { return num(t.model_flops_per_token) + " + " + num(recompute); },
      t.model_flops_per_token + recompute, Unit::flops);

  const bool fp32 = !adapters && s.precision == Precision::fp32;
  t.peak_flops = record(
      derivation, kSection, "peak per GPU", fp32 ? "tflops_fp32 * 1e12" : "tflops_16bit * 1e12",
      [&] { return num(fp32 ? gpu.tflops_fp32 : gpu.tflops_16bit) + "e12"; },
      (fp32 ? gpu.tflops_fp32 : gpu.tflops_16bit) * 1e12, Unit::flops);
  t.tokens_per_step = record(
      derivation, kSection, "tokens per step", "micro-batch * seq * grad-accum * DP",
      [&] {
        return num(d(s.micro_batch)) + "*" + num(d(s.seq_len)) + "*" + num(d(s.grad_accum)) + "*" +
               num(layout.dp);
      },
      d(s.micro_batch) * d(s.seq_len) * d(s.grad_accum) * layout.dp, Unit::count);
  const double m_batches = d(s.grad_accum);
  t.bubble = layout.pp > 1 ? (m_batches + layout.pp - 1) / m_batches : 1;
  if (layout.pp > 1)
    record(
        derivation, kSection, "pipeline bubble (1F1B)", "(m + PP - 1) / m",
        [&] { return "(" + num(m_batches) + " + " + num(layout.pp) + " - 1) / " + num(m_batches); },
        t.bubble, Unit::ratio);
  const double gpus = layout.gpus();
  t.step_seconds = record(
      derivation, kSection, "step time",
      "FLOPs/token * tokens/step / (GPUs * peak * MFU)" +
          std::string(layout.pp > 1 ? " * bubble" : ""),
      [&] {
        return num(t.flops_per_token) + "*" + num(t.tokens_per_step) + " / (" + num(gpus) + "*" +
               num(t.peak_flops) + "*" + num(s.mfu) + ")" +
               (layout.pp > 1 ? " * " + num(t.bubble) : "");
      },
      t.flops_per_token * t.tokens_per_step / (gpus * t.peak_flops * s.mfu) * t.bubble,
      Unit::seconds);
  t.tokens_per_second = t.tokens_per_step / t.step_seconds;
  if (s.tokens > 0) {
    t.steps = std::ceil(s.tokens / t.tokens_per_step);
    t.total_seconds = record(
        derivation, kSection, "total time", "token budget / tokens per step * step time",
        [&] {
          return num(s.tokens) + " / " + num(t.tokens_per_step) + " * " + num(t.step_seconds);
        },
        s.tokens / t.tokens_per_step * t.step_seconds, Unit::seconds);
  }
}

void inference_time(const ModelInfo& m, const PlanSettings& s, const Layout& layout,
                    const GpuSpec& gpu, const MemoryEstimate& memory, TimeEstimate& t,
                    Derivation* derivation) {
  const double n = m.params.matmul_active;
  const double gpus = layout.tp * layout.pp;  // one replica
  const double sequences = std::ceil(d(s.concurrency) / layout.dp);
  t.peak_flops = gpu.tflops_16bit * 1e12;
  const double prefill = 2 * n + attention_flops(m.spec, d(s.context) / 2);
  t.model_flops_per_token = t.flops_per_token = record(
      derivation, kSection, "prefill FLOPs per token", "2N + attention over context/2",
      [&] { return "2*" + num(n) + " + " + num(attention_flops(m.spec, d(s.context) / 2)); },
      prefill, Unit::flops);
  t.prefill_tokens_per_second = record(
      derivation, kSection, "prefill tokens/s", "DP * TP*PP * peak * MFU / FLOPs per token",
      [&] {
        return num(layout.dp) + "*" + num(gpus) + "*" + num(t.peak_flops) + "*" + num(s.mfu) +
               " / " + num(prefill);
      },
      layout.dp * gpus * t.peak_flops * s.mfu / prefill, Unit::plain);

  const double decode_flops = 2 * n + attention_flops(m.spec, d(s.context));
  const double compute = record(
      derivation, kSection, "decode step, compute bound",
      "sequences * (2N + attention over context) / (TP*PP * peak * MFU)",
      [&] {
        return num(sequences) + "*" + num(decode_flops) + " / (" + num(gpus) + "*" +
               num(t.peak_flops) + "*" + num(s.mfu) + ")";
      },
      sequences * decode_flops / (gpus * t.peak_flops * s.mfu), Unit::seconds);

  // An MoE decode step reads only the experts its tokens chose: with k of E per token and
  // c tokens, a fraction 1 - (1 - k/E)^c of the experts, if routing is uniform.
  double weight_reads = memory.weights;
  if (m.spec.is_moe() && m.params.total > 0) {
    const double e = d(m.spec.moe.routed_experts), k = d(m.spec.moe.experts_per_token);
    const double expert_share =
        d(m.params.moe_layers) * m.params.moe_layer.experts / m.params.total;
    const double touched = 1 - std::pow(1 - k / e, sequences);
    weight_reads = record(
        derivation, kSection, "weights read per decode step (MoE)",
        "weights * (1 - f_experts + f_experts * (1 - (1 - k/E)^sequences))",
        [&] {
          return num(memory.weights) + "*(1 - " + num(expert_share) + " + " + num(expert_share) +
                 "*" + num(touched) + ")";
        },
        memory.weights * (1 - expert_share + expert_share * touched), Unit::bytes);
  }
  const double bandwidth = gpu.bandwidth_gbs * 1e9;
  const double reads = record(
      derivation, kSection, "decode step, memory bound",
      "PP * (weights read + KV cache) / (bandwidth * MBU)",
      [&] {
        return num(layout.pp) + "*(" + num(weight_reads) + " + " + num(memory.kv_cache) + ") / (" +
               num(bandwidth) + "*" + num(s.mbu) + ")";
      },
      layout.pp * (weight_reads + memory.kv_cache) / (bandwidth * s.mbu), Unit::seconds);
  t.memory_bound = reads > compute;
  t.step_seconds = record(
      derivation, kSection, "decode step", "max(compute bound, memory bound)",
      [&] { return "max(" + num(compute) + ", " + num(reads) + ")"; }, std::max(compute, reads),
      Unit::seconds);
  // Each replica steps its ceil(concurrency / DP) sequences at once: one token for each
  // of the `concurrency` sequences per step time.
  const double concurrency = d(s.concurrency);
  t.tokens_per_second = record(
      derivation, kSection, "decode tokens/s", "concurrency / decode step",
      [&] { return num(concurrency) + " / " + num(t.step_seconds); },
      concurrency / t.step_seconds, Unit::plain);
  t.tokens_per_step = concurrency;
  if (s.tokens > 0) {
    t.steps = std::ceil(s.tokens / t.tokens_per_step);
    t.total_seconds = record(
        derivation, kSection, "total time", "generated tokens / decode tokens/s",
        [&] { return num(s.tokens) + " / " + num(t.tokens_per_second); },
        s.tokens / t.tokens_per_second, Unit::seconds);
  }
}

}  // namespace

TimeEstimate estimate_time(const ModelInfo& m, const PlanSettings& s, const Layout& layout,
                           const GpuSpec& gpu, const MemoryEstimate& memory,
                           Derivation* derivation) {
  TimeEstimate t;
  if (is_training(s.method))
    training_time(m, s, layout, gpu, t, derivation);
  else
    inference_time(m, s, layout, gpu, memory, t, derivation);
  return t;
}

}  // namespace lmf::planner
