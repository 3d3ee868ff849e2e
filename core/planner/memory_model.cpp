#include "core/planner/memory_model.h"

#include "core/planner/activation_model.h"
#include "core/planner/bytes_per_param.h"
#include "core/planner/kv_cache.h"
#include "core/planner/units.h"

#include <algorithm>
#include <cmath>

namespace lmf::planner {
namespace {

constexpr const char* kSection = "memory";
// DeepSpeed's default reduce_bucket_size (elements): with the optimizer offloaded,
// gradients pass through GPU buckets of this size on their way to the CPU.
constexpr double kReduceBucket = 5e8;

double d(std::int64_t value) {
  return static_cast<double>(value);
}

// The parameters one GPU of a pipeline stage holds (before ZeRO sharding).
struct StageShare {
  double matrices = 0;  // decoder-layer weight matrices (quantizable), experts included
  double experts = 0;   // the routed experts' share of `matrices` (already split by TP x EP)
  double other = 0;     // embeddings, output projection, norms, biases, routers
  double lora = 0;
  double largest_layer = 0;
  double largest_matrix = 0;
  std::int64_t dense_layers = 0;
  std::int64_t moe_layers = 0;
  bool first = false;
  bool last = false;
};

StageShare stage_share(const ModelInfo& m, const Layout& layout, int stage,
                       std::int64_t first_layer, std::int64_t layers) {
  StageShare share;
  share.first = stage == 0;
  share.last = stage == layout.pp - 1;
  const ModelSpec& spec = m.spec;
  const double tp = layout.tp, ep = layout.ep;
  if (!spec.has_architecture()) {
    share.matrices = spec.bare_params / (tp * layout.pp);
    return share;
  }
  for (std::int64_t i = first_layer; i < first_layer + layers; ++i) {
    const bool moe = spec.is_moe_layer(i);
    const LayerParams& p = moe ? m.params.moe_layer : m.params.dense_layer;
    const double matrices =
        (p.attn_split + p.mlp_split) / tp + p.attn_replicated + p.experts / (tp * ep);
    const double other = (p.attn_bias + p.mlp_bias) / tp + p.norms + p.router;
    share.matrices += matrices;
    share.experts += p.experts / (tp * ep);
    share.other += other;
    share.lora += moe ? m.lora.moe_layer / (tp * ep) : m.lora.dense_layer / tp;
    share.largest_layer = std::max(share.largest_layer, matrices + other);
    share.largest_matrix = std::max(share.largest_matrix, p.largest_matrix / tp);
    ++(moe ? share.moe_layers : share.dense_layers);
  }
  if (share.first) share.other += m.params.embedding / tp;
  if (share.last) {
    const double output = m.params.lm_head > 0 ? m.params.lm_head
                          : layout.pp > 1      ? m.params.embedding  // tied: a copy at the end
                                               : 0;
    share.other += output / tp + m.params.final_norm;
  }
  return share;
}

void inference_memory(const ModelInfo& m, const PlanSettings& s, const Layout& layout,
                      const StageShare& share, MemoryEstimate& e, Derivation* derivation) {
  const WeightBytes wb = weight_bytes(s, m.spec);
  e.weights = record(
      derivation, kSection, "weights",
      "P_matrices * b_matrices + P_other * b_other,  b_matrices = " + wb.matrices_formula +
          ", b_other = " + num(wb.other),
      [&] {
        return num(share.matrices) + "*" + num(wb.matrices) + " + " + num(share.other) + "*" +
               num(wb.other);
      },
      share.matrices * wb.matrices + share.other * wb.other, Unit::bytes);
  const std::int64_t sequences = (s.concurrency + layout.dp - 1) / layout.dp;
  if (derivation && layout.dp > 1)
    derivation->note(kSection, "sequences per replica: ceil(" + std::to_string(s.concurrency) +
                                   " / DP " + std::to_string(layout.dp) +
                                   ") = " + std::to_string(sequences));
  const std::int64_t layers = share.dense_layers + share.moe_layers;
  e.kv_cache = kv_cache_bytes(m.spec, s, layers, layout.tp, sequences, derivation);
  e.activations =
      inference_workspace_bytes(m.spec, s, layout.tp, sequences, share.last, derivation);
}

// What one GPU keeps for the backward pass: `repeated` per micro-batch in flight, `once`
// however many are in flight (the layer live during full recomputation's backward, and
// QLoRA's dequantized matrix).
struct TrainingActivations {
  double repeated = 0;
  double once = 0;
};

TrainingActivations training_activations(const ModelInfo& m, const PlanSettings& s,
                                         const Layout& layout, const StageShare& share,
                                         Derivation* derivation) {
  TrainingActivations result;
  const ModelSpec& spec = m.spec;
  if (!spec.has_architecture()) return result;
  const bool adapters = s.method == Method::lora || s.method == Method::qlora;
  ActivationShape shape;
  shape.seq = d(s.seq_len);
  shape.batch = d(s.micro_batch);
  shape.tp = layout.tp;
  shape.sequence_parallel = s.sequence_parallel;
  // Activations in the compute dtype: full training's precision; a LoRA base's dtype (a
  // quantized base computes in bf16).
  shape.bytes = adapters ? (s.weights == WeightFormat::fp32 ? 4 : 2) : s.precision == Precision::fp32 ? 4 : 2;
  shape.attention = s.attention;
  shape.recompute_attention_core = s.checkpointing == Checkpointing::selective;
  shape.frozen_base = adapters;
  if (adapters) shape.adapted = adapted_modules(s.lora_targets);
  const double adapter_bytes = s.adapter_bytes > 0 ? s.adapter_bytes : s.trainer == Trainer::lmforge ? shape.bytes : 4;
  shape.saved = saved_tensors_of(s.trainer, shape.bytes, adapters ? adapter_bytes : 0);
  shape.lora_rank = adapters ? s.lora_rank : 0;
  if (derivation) {
    const SavedTensors& saved = shape.saved;
    std::string text = "saved tensors (--trainer " + to_string(s.trainer) +
                       ", Note [Saved tensors]): activations " + num(shape.bytes) +
                       " bytes, norm input " + num(saved.norm_input_bytes) + " bytes + " +
                       num(saved.norm_row_bytes) + " per row";
    if (!adapters)
      text += ", trainable norm weight keeps " + num(saved.norm_weight_widths) + " x h";
    text += ", gated MLP keeps " + num(saved.gated_mlp_widths) + " x i";
    if (adapters)
      text += ", adapters " + num(saved.adapter_bytes) + " bytes" +
              (saved.adapter_bytes == shape.bytes ? " (no cast: inputs shared)"
               : saved.shared_adapter_casts       ? " (one cast per shared input)"
                                                  : " (one cast per module)");
    derivation->note(kSection, text);
  }

  double dense = 0, moe = 0;
  if (share.dense_layers > 0) {
    shape.lora_modules = m.lora.dense_modules;
    dense = layer_activation_bytes(spec, false, shape, derivation);
  }
  if (share.moe_layers > 0) {
    shape.lora_modules = m.lora.moe_modules;
    moe = layer_activation_bytes(spec, true, shape, derivation);
  }
  const bool full = s.checkpointing == Checkpointing::full;
  if (full) {
    const double checkpoint = checkpoint_bytes(spec, shape);
    record(
        derivation, kSection, "checkpoint per layer (full recomputation)",
        std::string("bytes*sbh") + (s.sequence_parallel && layout.tp > 1 ? "/t" : ""),
        [&] {
          return num(shape.bytes) + "*" + num(shape.seq * shape.batch) + "*" + num(d(spec.hidden)) +
                 (s.sequence_parallel && layout.tp > 1 ? "/" + num(layout.tp) : "");
        },
        checkpoint, Unit::bytes);
    result.repeated = d(share.dense_layers + share.moe_layers) * checkpoint;
    result.once = std::max(dense, moe);
  } else {
    result.repeated = d(share.dense_layers) * dense + d(share.moe_layers) * moe;
  }
  if (share.last)
    result.repeated += output_activation_bytes(spec, shape, s.logits_bytes, derivation);
  if (s.method == Method::qlora)
    result.once += record(
        derivation, kSection, "dequantized matrix (QLoRA)", "largest matrix / t * 2 bytes",
        [&] { return num(share.largest_matrix) + "*2"; }, 2 * share.largest_matrix, Unit::bytes);
  return result;
}

MemoryEstimate estimate_stage(const ModelInfo& m, const PlanSettings& s, const Layout& layout,
                              int stage, const StageShare& share, Derivation* derivation) {
  MemoryEstimate e;
  e.stage = stage;
  e.stage_layers = share.dense_layers + share.moe_layers;
  if (!is_training(s.method)) {
    inference_memory(m, s, layout, share, e, derivation);
    e.overhead = record(
        derivation, kSection, "framework overhead",
        "CUDA context + library workspaces + allocator slack (--overhead-gb)",
        [&] { return num(s.overhead_gb) + " GB"; }, s.overhead_gb * kGB, Unit::bytes);
    return e;
  }

  const bool adapters = s.method == Method::lora || s.method == Method::qlora;
  const StateBytes sb = state_bytes(s);
  const double dp = layout.dp;
  // Note [ZeRO and expert parallelism]: ZeRO shards dense parameters over the DP ranks, and
  // the experts (already split over EP ranks) over the DP / EP ranks that hold the same
  // experts, as DeepSpeed-MoE and Megatron do.
  const double expert_group = dp / layout.ep;
  const bool moe_split = share.experts > 0 && layout.ep > 1;
  auto sharded = [&](double dense_part, double expert_part, bool on) {
    return on ? dense_part / dp + expert_part / expert_group : dense_part + expert_part;
  };
  auto shard_text = [&](bool on, const std::string& what) {
    if (!on) return what;
    return moe_split ? "(" + what + " of dense)/DP + (" + what + " of experts)/(DP/EP)"
                     : "(" + what + ") / DP";
  };
  const double params = share.matrices + share.other;
  const double trainable = adapters ? share.lora : params;
  const double trainable_experts = adapters ? 0 : share.experts;

  // Weights: the working copy (or the frozen base and the adapters), sharded by ZeRO-3.
  double dense_weights = 0, expert_weights = 0;
  std::string weights_formula, weights_numbers;
  if (adapters) {
    const WeightBytes wb = weight_bytes(s, m.spec);
    dense_weights = (share.matrices - share.experts) * wb.matrices + share.other * wb.other +
                    trainable * sb.weights;
    expert_weights = share.experts * wb.matrices;
    weights_formula = "base P_matrices * b_matrices + P_other * b_other + adapters P_lora * 4";
    if (derivation)
      weights_numbers = num(share.matrices) + "*" + num(wb.matrices) + " + " + num(share.other) +
                        "*" + num(wb.other) + " + " + num(trainable) + "*" + num(sb.weights);
    weights_formula =
        shard_text(s.zero == 3, weights_formula) + ",  b_matrices = " + wb.matrices_formula;
  } else {
    dense_weights = (params - share.experts) * sb.weights;
    expert_weights = share.experts * sb.weights;
    weights_formula = shard_text(s.zero == 3, "P_gpu * " + num(sb.weights)) + "  (" +
                      to_string(s.precision) + " weights)";
    if (derivation) weights_numbers = num(params) + "*" + num(sb.weights);
  }
  if (s.zero == 3) {
    weights_formula += "  (ZeRO-3)";
    if (derivation)
      weights_numbers = moe_split ? num(dense_weights) + "/" + num(dp) + " + " +
                                        num(expert_weights) + "/" + num(expert_group)
                                  : "(" + weights_numbers + ") / " + num(dp);
  }
  const double weights = sharded(dense_weights, expert_weights, s.zero == 3);
  if (s.offload_params) {
    e.host_bytes += weights;
    if (derivation)
      derivation->note(kSection, "weights: offloaded to CPU memory (ZeRO-Infinity), " +
                                     format_bytes(weights) + " per GPU process");
  } else {
    e.weights = record(
        derivation, kSection, "weights", weights_formula, [&] { return weights_numbers; }, weights,
        Unit::bytes);
  }

  if (s.zero == 3 && (layout.dp > 1 || s.offload_params)) {
    const double layer_bytes = adapters ? weight_bytes(s, m.spec).matrices : sb.weights;
    const double grad_bytes = adapters ? 0 : sb.gradients;
    e.zero3_gathered = record(
        derivation, kSection, "ZeRO-3 gathered layer",
        "largest layer P_layer * (weight bytes" +
            std::string(adapters ? ")" : " + gradient bytes)"),
        [&] {
          return num(share.largest_layer) + "*(" + num(layer_bytes) +
                 (adapters ? ")" : " + " + num(grad_bytes) + ")");
        },
        share.largest_layer * (layer_bytes + grad_bytes), Unit::bytes);
  }

  const std::string who = adapters ? "P_lora" : "P_gpu";
  const double grad_elements =
      sharded(trainable - trainable_experts, trainable_experts, s.zero >= 2);
  const double opt_elements =
      sharded(trainable - trainable_experts, trainable_experts, s.zero >= 1);
  auto elements_numbers = [&](double total, double experts, bool on) {
    if (!on) return num(total);
    return moe_split && experts > 0 ? "(" + num(total - experts) + "/" + num(dp) + " + " +
                                          num(experts) + "/" + num(expert_group) + ")"
                                    : num(total) + "/" + num(dp);
  };
  if (s.offload_optimizer) {
    const double elements = std::min(grad_elements, kReduceBucket);
    e.gradients = record(
        derivation, kSection, "gradients",
        "min(" + shard_text(s.zero >= 2, who) + ", 5e8 bucket) * " + num(sb.gradients) +
            "  (streamed to the CPU optimizer)",
        [&] { return num(elements) + "*" + num(sb.gradients); }, elements * sb.gradients,
        Unit::bytes);
    e.host_bytes += opt_elements * (sb.optimizer + 4);
    if (derivation)
      derivation->note(kSection, "optimizer states: offloaded to CPU memory (ZeRO-Offload), " +
                                     format_bytes(opt_elements * (sb.optimizer + 4)) +
                                     " per GPU process (states + fp32 gradients)");
  } else {
    e.gradients = record(
        derivation, kSection, "gradients",
        shard_text(s.zero >= 2, who + " * " + num(sb.gradients)) +
            (s.zero >= 2 ? "  (ZeRO-2/3)" : ""),
        [&] {
          return elements_numbers(trainable, trainable_experts, s.zero >= 2) + "*" +
                 num(sb.gradients);
        },
        grad_elements * sb.gradients, Unit::bytes);
    e.optimizer = record(
        derivation, kSection, "optimizer states",
        shard_text(s.zero >= 1, who + " * (" + sb.optimizer_formula + ")") +
            (s.zero >= 1 ? "  (ZeRO-1/2/3)" : ""),
        [&] {
          return elements_numbers(trainable, trainable_experts, s.zero >= 1) + "*" +
                 num(sb.optimizer);
        },
        opt_elements * sb.optimizer, Unit::bytes);
  }

  const TrainingActivations acts = training_activations(m, s, layout, share, derivation);
  const bool full = s.checkpointing == Checkpointing::full;
  const std::int64_t in_flight =
      layout.pp == 1 ? 1 : std::min<std::int64_t>(layout.pp - stage, s.grad_accum);
  std::string stored = full ? "L_stage * checkpoint" : "sum of the stage's layers";
  if (share.last) stored += " + output";
  e.activations = record(
      derivation, kSection, "activations",
      "m_in_flight * (" + stored + ")" + (full ? " + one layer live in its backward" : "") +
          (s.method == Method::qlora ? " + dequantized matrix" : "") +
          ",  m_in_flight = min(PP - stage, grad-accum) under 1F1B",
      [&] { return num(d(in_flight)) + " * " + num(acts.repeated) + " + " + num(acts.once); },
      d(in_flight) * acts.repeated + acts.once, Unit::bytes);
  e.overhead = record(
      derivation, kSection, "framework overhead",
      "CUDA context + NCCL/cuBLAS workspaces + allocator slack (--overhead-gb)",
      [&] { return num(s.overhead_gb) + " GB"; }, s.overhead_gb * kGB, Unit::bytes);
  return e;
}

}  // namespace

MemoryEstimate estimate_memory(const ModelInfo& m, const PlanSettings& s, const Layout& layout,
                               Derivation* derivation) {
  const std::vector<std::int64_t> layers =
      stage_layers(m.spec.has_architecture() ? m.spec.layers : layout.pp, layout.pp);
  MemoryEstimate best;
  StageShare best_share;
  std::int64_t first_layer = 0;
  for (int stage = 0; stage < layout.pp; ++stage) {
    const StageShare share =
        stage_share(m, layout, stage, first_layer,
                    m.spec.has_architecture() ? layers[static_cast<std::size_t>(stage)] : 0);
    first_layer += layers[static_cast<std::size_t>(stage)];
    const MemoryEstimate estimate = estimate_stage(m, s, layout, stage, share, nullptr);
    if (stage == 0 || estimate.total() > best.total()) {
      best = estimate;
      best_share = share;
    }
  }
  if (derivation) {
    if (layout.pp > 1)
      derivation->note(kSection, "pipeline stage " + std::to_string(best.stage) + " of " +
                                     std::to_string(layout.pp) + " needs the most memory (" +
                                     std::to_string(best.stage_layers) + " layers)");
    best = estimate_stage(m, s, layout, best.stage, best_share, derivation);
    record(
        derivation, kSection, "total per GPU",
        "weights + ZeRO-3 gathered + gradients + optimizer + activations + KV cache + overhead",
        [&] {
          return num(best.weights) + " + " + num(best.zero3_gathered) + " + " +
                 num(best.gradients) + " + " + num(best.optimizer) + " + " + num(best.activations) +
                 " + " + num(best.kv_cache) + " + " + num(best.overhead);
        },
        best.total(), Unit::bytes);
  }
  return best;
}

}  // namespace lmf::planner
