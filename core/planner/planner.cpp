#include "core/planner/planner.h"

#include "core/planner/units.h"

#include <algorithm>

namespace lmf::planner {
namespace {

std::string joined(const std::vector<std::string>& words, const char* separator) {
  std::string text;
  for (const std::string& word : words) text += (text.empty() ? "" : separator) + word;
  return text;
}

std::vector<std::string> assumptions_of(const ModelInfo& m, const PlanSettings& s) {
  std::vector<std::string> list;
  if (is_training(s.method)) {
    list.push_back("sequence " + std::to_string(s.seq_len) + " tokens, micro-batch " +
                   std::to_string(s.micro_batch) + ", gradient accumulation " +
                   std::to_string(s.grad_accum));
    std::string recompute = s.checkpointing == Checkpointing::full ? "full activation checkpointing"
                            : s.checkpointing == Checkpointing::selective
                                ? "selective recomputation (attention core)"
                                : "no activation checkpointing";
    list.push_back(recompute + ", " + to_string(s.attention) + " attention" +
                   (s.sequence_parallel ? ", sequence parallelism with TP" : ""));
    if (s.method == Method::lora || s.method == Method::qlora) {
      std::string base =
          s.method == Method::qlora
              ? (s.weights == WeightFormat::int4
                     ? std::string("NF4") + (s.double_quant ? " + double quantization" : "")
                     : std::string("LLM.int8"))
              : to_string(s.weights);
      list.push_back("LoRA r=" + std::to_string(s.lora_rank) + " on " +
                     joined(s.lora_targets, ",") + " (" + format_count(m.lora.total) +
                     " adapter parameters, fp32), frozen " + base + " base, " +
                     to_string(s.optimizer));
    } else {
      std::string precision = s.precision == Precision::mixed
                                  ? "mixed precision (bf16 weights, fp32 master)"
                                  : to_string(s.precision);
      list.push_back(precision + ", " + to_string(s.optimizer) +
                     (s.fp32_grads ? ", fp32 gradients" : "") + ", ZeRO stage " +
                     std::to_string(s.zero) + (s.offload_optimizer ? ", optimizer offloaded" : "") +
                     (s.offload_params ? ", parameters offloaded" : ""));
    }
  } else {
    std::string weights = to_string(s.weights);
    if (s.weights == WeightFormat::int4) weights += " (group " + std::to_string(s.group_size) + ")";
    list.push_back(weights + " weights, KV cache " + format_number(s.kv_bytes * 8) + "-bit, " +
                   std::to_string(s.context) + " tokens x " + std::to_string(s.concurrency) +
                   " sequences, prefill chunk " + std::to_string(s.prefill_chunk));
    list.push_back("MBU " + format_number(s.mbu) + " (decode bandwidth utilization)");
  }
  list.push_back("MFU " + format_number(s.mfu) + ", framework overhead " +
                 format_number(s.overhead_gb) + " GB per GPU");
  return list;
}

std::vector<std::string> warnings_of(const Plan& plan) {
  const PlanSettings& s = plan.settings;
  const ModelSpec& spec = plan.model.spec;
  std::vector<std::string> list = spec.notes;
  if (!spec.has_architecture())
    list.push_back(
        "no architecture: activations and KV cache are not estimated (0); give "
        "--model or --layers/--hidden/--heads/--intermediate/--vocab");
  std::vector<std::string> no_bf16;
  for (const GpuSpec& gpu : plan.gpus)
    if (!gpu.bf16) no_bf16.push_back(gpu.id);
  const bool sixteen_bit = is_training(s.method)
                               ? !(s.method == Method::full || s.method == Method::pretrain) ||
                                     s.precision != Precision::fp32
                               : s.weights != WeightFormat::fp32;
  if (!no_bf16.empty() && sixteen_bit)
    list.push_back(joined(no_bf16, ", ") +
                   ": no bf16 and no FlashAttention-2 (they need Ampere or "
                   "newer); the plan assumes fp16" +
                   (is_training(s.method) ? std::string(" with loss scaling") : std::string()) +
                   " and a memory-efficient attention kernel (the same memory)");
  if (s.offload_optimizer || s.offload_params)
    list.push_back(
        "times leave out ZeRO-Offload's CPU optimizer step and PCIe transfers: expect "
        "slower steps than shown");
  if (s.method == Method::qlora)
    list.push_back(
        "QLoRA dequantizes its 4/8-bit weights for every matmul: expect a lower MFU "
        "than LoRA");
  bool pipelined = plan.layout.pp > 1;
  for (const GpuResult& result : plan.search)
    pipelined = pipelined || (result.best && result.best->layout.pp > 1);
  if (is_training(s.method) && s.zero >= 2 && pipelined)
    list.push_back(
        "DeepSpeed refuses ZeRO-2/3 with pipeline parallelism (Megatron pairs PP "
        "with ZeRO-1); PyTorch FSDP does combine with PP (torchtitan)");
  std::vector<std::string> bubbly;
  for (const GpuResult& result : plan.search)
    if (result.best && result.best->time.bubble > 1.5) bubbly.push_back(result.gpu.id);
  if (is_training(s.method) && !bubbly.empty())
    list.push_back(joined(bubbly, ", ") + ": pipeline parallelism with " +
                   std::to_string(s.grad_accum) +
                   " micro-batch(es) per step idles most of the time (bubble (m + PP - 1) / m); "
                   "raise --grad-accum to 4 x PP or more, or allow more GPUs");
  if (!is_training(s.method) && spec.attention == AttentionKind::standard &&
      plan.layout.tp > spec.kv_heads)
    list.push_back("TP " + std::to_string(plan.layout.tp) + " is more than the " +
                   std::to_string(spec.kv_heads) + " KV heads: each GPU caches a replicated head");
  return list;
}

}  // namespace

Plan make_plan(const PlanRequest& request, const GpuCatalog& catalog) {
  check_settings(request.settings, request.model);
  Plan plan;
  plan.settings = request.settings;
  Derivation* derivation = request.explain ? &plan.derivation : nullptr;
  plan.model = make_model_info(request.model, plan.settings, derivation);
  if (request.gpus.empty()) {
    plan.gpus = catalog.gpus;
  } else {
    for (const std::string& name : request.gpus) {
      const GpuSpec& gpu = find_gpu(catalog, name);
      const bool seen = std::any_of(plan.gpus.begin(), plan.gpus.end(),
                                    [&](const GpuSpec& other) { return other.id == gpu.id; });
      if (!seen) plan.gpus.push_back(gpu);
    }
  }

  for (const GpuSpec& gpu : plan.gpus)
    plan.search.push_back(fewest_gpus(plan.model, plan.settings, gpu));

  // One GPU type: show the layout the search chose (it keeps every degree given); several:
  // the degrees given, 1 where not.
  const Parallel& p = plan.settings.parallel;
  if (plan.gpus.size() == 1 && plan.search.front().best) {
    plan.layout = plan.search.front().best->layout;
    plan.layout_searched = p.gpus == 0;
  } else {
    plan.layout.tp = p.tp > 0 ? p.tp : 1;
    plan.layout.pp = p.pp > 0 ? p.pp : 1;
    plan.layout.dp = p.dp > 0 ? p.dp : 1;
    if (p.gpus > 0 && p.dp == 0) plan.layout.dp = p.gpus / (plan.layout.tp * plan.layout.pp);
    plan.layout.ep = p.ep > 0 ? p.ep : 1;
  }
  if (plan.gpus.size() == 1) {
    plan.primary = evaluate(plan.model, plan.settings, plan.layout, plan.gpus.front(), derivation);
    plan.memory = plan.primary->memory;
  } else {
    plan.memory = estimate_memory(plan.model, plan.settings, plan.layout, derivation);
    if (derivation)
      derivation->note("time",
                       "time and cost depend on the GPU: name one with --gpu to see them "
                       "derived");
  }
  plan.assumptions = assumptions_of(plan.model, plan.settings);
  plan.warnings = warnings_of(plan);
  return plan;
}

}  // namespace lmf::planner
