#include "core/planner/report_json.h"

#include "core/planner/explain.h"
#include "core/planner/presets.h"

namespace lmf::planner {
namespace {

using nlohmann::json;

json layout_json(const Layout& layout) {
  return {{"tp", layout.tp},
          {"pp", layout.pp},
          {"dp", layout.dp},
          {"ep", layout.ep},
          {"gpus", layout.gpus()}};
}

json memory_json(const MemoryEstimate& m) {
  return {{"weights", m.weights},
          {"zero3_gathered", m.zero3_gathered},
          {"gradients", m.gradients},
          {"optimizer_states", m.optimizer},
          {"activations", m.activations},
          {"kv_cache", m.kv_cache},
          {"framework_overhead", m.overhead},
          {"total", m.total()},
          {"host_per_gpu", m.host_bytes},
          {"pipeline_stage", m.stage},
          {"stage_layers", m.stage_layers}};
}

json or_null(double value) {
  return value < 0 ? json(nullptr) : json(value);
}

json time_json(const TimeEstimate& t) {
  return {{"model_flops_per_token", t.model_flops_per_token},
          {"flops_per_token", t.flops_per_token},
          {"peak_flops_per_gpu", t.peak_flops},
          {"tokens_per_step", t.tokens_per_step},
          {"step_seconds", t.step_seconds},
          {"tokens_per_second", t.tokens_per_second},
          {"prefill_tokens_per_second", t.prefill_tokens_per_second},
          {"memory_bound", t.memory_bound},
          {"pipeline_bubble", t.bubble},
          {"steps", t.steps},
          {"total_seconds", t.total_seconds}};
}

json cost_json(const CostEstimate& c) {
  return {{"currency", c.currency},
          {"purchase", or_null(c.purchase)},
          {"cloud_per_hour", or_null(c.cloud_per_hour)},
          {"gpu_hours", c.gpu_hours},
          {"cloud", or_null(c.cloud)},
          {"energy_kwh", c.energy_kwh},
          {"estimated", c.estimated}};
}

json evaluation_json(const Evaluation& e) {
  return {{"layout", layout_json(e.layout)},
          {"capacity_per_gpu", e.capacity},
          {"fits", e.fits},
          {"memory_per_gpu", memory_json(e.memory)},
          {"time", time_json(e.time)},
          {"cost", cost_json(e.cost)}};
}

json settings_json(const PlanSettings& s) {
  json settings{{"method", to_string(s.method)},
                {"mfu", s.mfu},
                {"overhead_gb", s.overhead_gb},
                {"tokens", s.tokens}};
  if (is_training(s.method)) {
    settings.update({{"seq_len", s.seq_len},
                     {"micro_batch", s.micro_batch},
                     {"grad_accum", s.grad_accum},
                     {"checkpointing", to_string(s.checkpointing)},
                     {"attention", to_string(s.attention)},
                     {"sequence_parallel", s.sequence_parallel},
                     {"optimizer", to_string(s.optimizer)},
                     {"zero", s.zero},
                     {"offload_optimizer", s.offload_optimizer},
                     {"offload_params", s.offload_params},
                     {"logits_bytes", s.logits_bytes}});
    if (s.method == Method::lora || s.method == Method::qlora)
      settings.update({{"dtype", to_string(s.weights)},
                       {"lora_rank", s.lora_rank},
                       {"lora_targets", s.lora_targets},
                       {"double_quant", s.double_quant}});
    else
      settings.update({{"precision", to_string(s.precision)}, {"fp32_grads", s.fp32_grads}});
  } else {
    settings.update({{"dtype", to_string(s.weights)},
                     {"group_size", s.group_size},
                     {"kv_bytes", s.kv_bytes},
                     {"context", s.context},
                     {"concurrency", s.concurrency},
                     {"prefill_chunk", s.prefill_chunk},
                     {"mbu", s.mbu}});
  }
  return settings;
}

}  // namespace

json plan_to_json(const Plan& plan) {
  const ModelSpec& spec = plan.model.spec;
  const ParamCounts& p = plan.model.params;
  json model{{"name", spec.name},
             {"family", spec.family},
             {"source", spec.source},
             {"shape", describe_shape(spec)},
             {"parameters",
              {{"total", p.total},
               {"active", p.active},
               {"matmul_active", p.matmul_active},
               {"embedding", p.embedding},
               {"lm_head", p.lm_head},
               {"lora", plan.model.lora.total}}},
             {"notes", spec.notes}};
  if (spec.has_architecture())
    model.update({{"layers", spec.layers},
                  {"hidden", spec.hidden},
                  {"heads", spec.heads},
                  {"kv_heads", spec.kv_heads},
                  {"vocab", spec.vocab}});

  json fits = json::array();
  for (const GpuSpec& gpu : plan.gpus)
    fits.push_back({{"gpu", gpu.id},
                    {"capacity_per_gpu", gpu.capacity_bytes()},
                    {"fits", plan.memory.total() <= gpu.capacity_bytes()}});
  json search = json::array();
  for (const GpuResult& r : plan.search) {
    json entry{{"gpu", r.gpu.id}, {"name", r.gpu.name}, {"fits", r.best.has_value()}};
    if (r.best)
      entry.update(evaluation_json(*r.best));
    else
      entry["reason"] = r.reason;
    search.push_back(std::move(entry));
  }
  json result{
      {"model", model},
      {"settings", settings_json(plan.settings)},
      {"layout", layout_json(plan.layout)},
      {"layout_searched", plan.layout_searched},
      {"memory_per_gpu", memory_json(plan.memory)},
      {"fits_at_layout", fits},
      {"search", search},
      {"assumptions", plan.assumptions},
      {"warnings", plan.warnings},
      {"units", {{"memory", "bytes"}, {"time", "seconds"}, {"money", "the GPU's currency"}}}};
  if (plan.primary) {
    json primary = evaluation_json(*plan.primary);
    primary["gpu"] = plan.gpus.front().id;
    result["primary"] = std::move(primary);
  }
  if (!plan.derivation.steps().empty()) result["explain"] = explanation_to_json(plan.derivation);
  return result;
}

json model_list_json() {
  json list = json::array();
  for (const Preset& preset : presets()) {
    const ModelSpec spec = load_preset(preset.name);
    const ParamCounts counts = count_parameters(spec);
    list.push_back({{"name", preset.name},
                    {"repository", preset.repository},
                    {"aliases", preset.aliases},
                    {"description", preset.description},
                    {"family", spec.family},
                    {"parameters", counts.total},
                    {"active_parameters", counts.active},
                    {"config", json::parse(preset.config_json)}});
  }
  return list;
}

}  // namespace lmf::planner
