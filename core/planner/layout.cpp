#include "core/planner/layout.h"

#include "core/planner/plan_error.h"

namespace lmf::planner {
namespace {

std::string valid_tps(const ModelSpec& model, Method method) {
  std::string list;
  for (int tp = 1; tp <= model.heads; ++tp)
    if (model.heads % tp == 0 && tp_problem(model, method, tp).empty())
      list += (list.empty() ? "" : ", ") + std::to_string(tp);
  return list;
}

std::string width_problem(int tp, std::int64_t width, const char* field) {
  if (width <= 0 || width % tp == 0) return "";
  return "--tp " + std::to_string(tp) + " does not divide " + field + " (" + std::to_string(width) +
         ")";
}

}  // namespace

std::string Layout::describe() const {
  std::string text =
      "TP " + std::to_string(tp) + " x PP " + std::to_string(pp) + " x DP " + std::to_string(dp);
  if (ep > 1) text += ", EP " + std::to_string(ep);
  return text;
}

std::vector<std::int64_t> stage_layers(std::int64_t layers, int pp) {
  std::vector<std::int64_t> stages(static_cast<std::size_t>(pp), layers / pp);
  for (std::int64_t i = 0; i < layers % pp; ++i) ++stages[static_cast<std::size_t>(i)];
  return stages;
}

std::string tp_problem(const ModelSpec& model, Method method, int tp) {
  if (tp < 1) return "--tp must be at least 1";
  if (!model.has_architecture() || tp == 1) return "";
  std::string problem;
  if (model.heads % tp != 0) {
    problem = "--tp " + std::to_string(tp) + " does not divide num_attention_heads (" +
              std::to_string(model.heads) + ")";
  } else if (model.attention == AttentionKind::standard && model.kv_heads % tp != 0 &&
             (is_training(method) || tp % model.kv_heads != 0)) {
    problem = "--tp " + std::to_string(tp) + " does not divide num_key_value_heads (" +
              std::to_string(model.kv_heads) + ")";
    if (is_training(method) && tp % model.kv_heads == 0)
      problem += "; training splits KV heads, only inference engines replicate them";
  } else if (model.layers > model.moe_layer_count()) {
    problem = width_problem(tp, model.intermediate, "intermediate_size");
  }
  if (problem.empty() && model.is_moe()) {
    problem = width_problem(tp, model.moe.expert_intermediate, "moe_intermediate_size");
    if (problem.empty())
      problem = width_problem(tp, model.moe.shared_intermediate, "the shared experts' width");
  }
  return problem;
}

std::string pp_problem(const ModelSpec& model, int pp) {
  if (pp < 1) return "--pp must be at least 1";
  if (model.has_architecture() && pp > model.layers)
    return "--pp " + std::to_string(pp) + " is more than the model's " +
           std::to_string(model.layers) + " layers (a pipeline stage holds at least one layer)";
  return "";
}

std::string ep_problem(const ModelSpec& model, int ep, int dp) {
  if (ep < 1) return "--ep must be at least 1";
  if (ep == 1) return "";
  if (!model.is_moe()) return "--ep " + std::to_string(ep) + ": the model has no experts";
  if (model.moe.routed_experts % ep != 0)
    return "--ep " + std::to_string(ep) + " does not divide the " +
           std::to_string(model.moe.routed_experts) + " routed experts";
  if (dp > 0 && dp % ep != 0)
    return "--ep " + std::to_string(ep) + " must divide --dp (" + std::to_string(dp) +
           "): expert-parallel ranks are data-parallel ranks";
  return "";
}

void check_parallel(const PlanSettings& settings, const ModelSpec& model) {
  const Parallel& p = settings.parallel;
  for (const auto& [value, option] :
       {std::pair{p.tp, "--tp"}, std::pair{p.pp, "--pp"}, std::pair{p.dp, "--dp"},
        std::pair{p.ep, "--ep"}, std::pair{p.gpus, "--gpus"}})
    if (value < 0) throw PlanError(std::string(option) + " must be at least 1");
  if (p.tp > 0) {
    std::string problem = tp_problem(model, settings.method, p.tp);
    if (!problem.empty()) {
      if (model.has_architecture())
        problem += " (valid: " + valid_tps(model, settings.method) + ")";
      throw PlanError(problem);
    }
  }
  if (p.pp > 0) {
    const std::string problem = pp_problem(model, p.pp);
    if (!problem.empty()) throw PlanError(problem);
  }
  if (p.ep > 0) {
    const std::string problem = ep_problem(model, p.ep, p.dp);
    if (!problem.empty()) throw PlanError(problem);
  }
  if (p.gpus > 0) {
    const int fixed = (p.tp > 0 ? p.tp : 1) * (p.pp > 0 ? p.pp : 1) * (p.dp > 0 ? p.dp : 1);
    std::string product;
    for (const auto& [value, option] :
         {std::pair{p.tp, "--tp"}, std::pair{p.pp, "--pp"}, std::pair{p.dp, "--dp"}})
      if (value > 0)
        product +=
            (product.empty() ? "" : " x ") + std::string(option) + " " + std::to_string(value);
    if (p.tp > 0 && p.pp > 0 && p.dp > 0 && fixed != p.gpus)
      throw PlanError(product + " = " + std::to_string(fixed) + " GPUs, but --gpus is " +
                      std::to_string(p.gpus) + " (TP x PP x DP must equal the GPU count)");
    if (p.gpus % fixed != 0)
      throw PlanError("--gpus " + std::to_string(p.gpus) + " is not a multiple of " + product +
                      " = " + std::to_string(fixed) + " (TP x PP x DP must equal the GPU count)");
  }
}

}  // namespace lmf::planner
