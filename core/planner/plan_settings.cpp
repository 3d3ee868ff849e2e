#include "core/planner/plan_settings.h"

#include "core/config/diagnostics.h"
#include "core/planner/layout.h"
#include "core/planner/plan_error.h"

#include <algorithm>
#include <array>
#include <sstream>
#include <utility>

namespace lmf::planner {
namespace {

template <typename Enum, std::size_t N>
Enum parse_choice(const std::string& text, const std::string& option,
                  const std::array<std::pair<const char*, Enum>, N>& choices) {
  std::vector<std::string> names;
  for (const auto& [name, value] : choices) {
    if (text == name) return value;
    names.emplace_back(name);
  }
  std::string message = option + " " + config::json_quoted(text) + ": expected one of";
  for (const std::string& name : names) message += " " + name;
  if (auto closest = config::closest_name(text, names))
    message += " (did you mean \"" + *closest + "\"?)";
  throw PlanError(message);
}

template <typename Enum, std::size_t N>
std::string name_of(Enum value, const std::array<std::pair<const char*, Enum>, N>& choices) {
  for (const auto& [name, candidate] : choices)
    if (candidate == value) return name;
  return "?";
}

constexpr std::array<std::pair<const char*, Method>, 5> kMethods{{
    {"inference", Method::inference},
    {"lora", Method::lora},
    {"qlora", Method::qlora},
    {"full", Method::full},
    {"pretrain", Method::pretrain},
}};
constexpr std::array<std::pair<const char*, WeightFormat>, 7> kFormats{{
    {"fp32", WeightFormat::fp32},
    {"bf16", WeightFormat::bf16},
    {"fp16", WeightFormat::fp16},
    {"fp8", WeightFormat::fp8},
    {"int8", WeightFormat::int8},
    {"int4", WeightFormat::int4},
    {"nf4", WeightFormat::int4},
}};
constexpr std::array<std::pair<const char*, Precision>, 3> kPrecisions{{
    {"mixed", Precision::mixed},
    {"bf16", Precision::bf16},
    {"fp32", Precision::fp32},
}};
constexpr std::array<std::pair<const char*, Optimizer>, 3> kOptimizers{{
    {"adamw", Optimizer::adamw},
    {"adamw8bit", Optimizer::adamw8bit},
    {"sgd", Optimizer::sgd},
}};
constexpr std::array<std::pair<const char*, Checkpointing>, 3> kCheckpointing{{
    {"none", Checkpointing::none},
    {"selective", Checkpointing::selective},
    {"full", Checkpointing::full},
}};
constexpr std::array<std::pair<const char*, AttentionImpl>, 2> kAttention{{
    {"flash", AttentionImpl::flash},
    {"eager", AttentionImpl::eager},
}};
constexpr std::array<std::pair<const char*, Trainer>, 2> kTrainers{{
    {"lmforge", Trainer::lmforge},
    {"hf", Trainer::hf},
}};
constexpr std::array<std::pair<const char*, int>, 3> kAdapterDtypes{{
    {"fp32", 4},
    {"bf16", 2},
    {"fp16", 2},
}};
constexpr std::array<std::pair<const char*, int>, 5> kKvDtypes{{
    {"bf16", 2},
    {"fp16", 2},
    {"fp8", 1},
    {"int8", 1},
    {"fp32", 4},
}};

void require_positive(std::int64_t value, const char* option) {
  if (value < 1)
    throw PlanError(std::string(option) + " " + std::to_string(value) + ": must be at least 1");
}

}  // namespace

bool is_training(Method method) {
  return method != Method::inference;
}

PlanSettings defaults_for(Method method) {
  PlanSettings settings;
  settings.method = method;
  switch (method) {
    case Method::inference:
      settings.weights = WeightFormat::bf16;
      settings.checkpointing = Checkpointing::none;
      break;
    case Method::lora:
      settings.weights = WeightFormat::bf16;
      break;
    case Method::qlora:
      settings.weights = WeightFormat::int4;
      break;
    case Method::full:
      settings.zero = 3;
      break;
    case Method::pretrain:
      settings.zero = 3;
      settings.seq_len = 4096;
      break;
  }
  return settings;
}

std::string to_string(Method method) {
  return name_of(method, kMethods);
}
std::string to_string(WeightFormat format) {
  return name_of(format, kFormats);
}
std::string to_string(Precision precision) {
  return name_of(precision, kPrecisions);
}
std::string to_string(Optimizer optimizer) {
  return name_of(optimizer, kOptimizers);
}
std::string to_string(Checkpointing checkpointing) {
  return name_of(checkpointing, kCheckpointing);
}
std::string to_string(AttentionImpl attention) {
  return name_of(attention, kAttention);
}
std::string to_string(Trainer trainer) {
  return name_of(trainer, kTrainers);
}

Method parse_method(const std::string& text) {
  return parse_choice(text, "--method", kMethods);
}
WeightFormat parse_weight_format(const std::string& text, const std::string& option) {
  return parse_choice(text, option, kFormats);
}
Precision parse_precision(const std::string& text) {
  return parse_choice(text, "--precision", kPrecisions);
}
Optimizer parse_optimizer(const std::string& text) {
  return parse_choice(text, "--optimizer", kOptimizers);
}
Checkpointing parse_checkpointing(const std::string& text) {
  return parse_choice(text, "--checkpointing", kCheckpointing);
}
AttentionImpl parse_attention(const std::string& text) {
  return parse_choice(text, "--attention", kAttention);
}
Trainer parse_trainer(const std::string& text) {
  return parse_choice(text, "--trainer", kTrainers);
}
double parse_kv_dtype(const std::string& text) {
  return parse_choice(text, "--kv-dtype", kKvDtypes);
}
double parse_adapter_dtype(const std::string& text) {
  return parse_choice(text, "--adapter-dtype", kAdapterDtypes);
}

std::vector<std::string> parse_lora_targets(const std::string& text) {
  static const std::vector<std::string> modules{"q", "k", "v", "o", "gate", "up", "down"};
  std::vector<std::string> targets;
  auto add = [&](const std::string& module) {
    if (std::find(targets.begin(), targets.end(), module) == targets.end())
      targets.push_back(module);
  };
  std::stringstream words(text);
  std::string word;
  while (std::getline(words, word, ',')) {
    if (word == "all" || word == "all-linear") {
      for (const std::string& module : modules) add(module);
    } else if (word == "attention") {
      for (const char* module : {"q", "k", "v", "o"}) add(module);
    } else if (word == "mlp") {
      for (const char* module : {"gate", "up", "down"}) add(module);
    } else {
      // Accept the Hugging Face names too: q_proj, gate_proj, ...
      std::string module = word;
      if (module.size() > 5 && module.compare(module.size() - 5, 5, "_proj") == 0)
        module.resize(module.size() - 5);
      if (std::find(modules.begin(), modules.end(), module) == modules.end()) {
        std::string message = "--lora-targets: unknown module " + config::json_quoted(word) +
                              " (modules: q k v o gate up down; groups: all attention mlp)";
        throw PlanError(message);
      }
      add(module);
    }
  }
  if (targets.empty()) throw PlanError("--lora-targets: name at least one module");
  return targets;
}

void check_settings(const PlanSettings& s, const ModelSpec& model) {
  const bool training = is_training(s.method);
  if (s.method == Method::qlora && s.weights != WeightFormat::int4 &&
      s.weights != WeightFormat::int8)
    throw PlanError("--dtype " + to_string(s.weights) +
                    ": QLoRA quantizes the base to int4 (NF4) or int8; use --method lora for a " +
                    to_string(s.weights) + " base");
  if (s.method == Method::lora &&
      (s.weights == WeightFormat::int4 || s.weights == WeightFormat::int8 ||
       s.weights == WeightFormat::fp8))
    throw PlanError("--dtype " + to_string(s.weights) +
                    ": LoRA trains on a 16- or 32-bit base; a quantized base is --method qlora");
  if (s.group_size < 1) throw PlanError("--group-size must be at least 1");
  if (training) {
    require_positive(s.micro_batch, "--micro-batch");
    require_positive(s.seq_len, "--seq-len");
    require_positive(s.grad_accum, "--grad-accum");
    if (s.lora_rank < 1) throw PlanError("--lora-rank must be at least 1");
    if (s.zero < 0 || s.zero > 3)
      throw PlanError("--zero " + std::to_string(s.zero) + ": ZeRO stages are 0, 1, 2 and 3");
    if (s.offload_params && s.zero != 3)
      throw PlanError(
          "--offload-params needs --zero 3 (ZeRO-Infinity offloads the parameter "
          "shards of stage 3); got --zero " +
          std::to_string(s.zero));
    if (s.offload_optimizer && s.zero == 0)
      throw PlanError(
          "--offload-optimizer needs --zero 1, 2 or 3 (ZeRO-Offload moves the "
          "partitioned optimizer states to the CPU)");
  } else {
    require_positive(s.context, "--context");
    require_positive(s.concurrency, "--concurrency");
    require_positive(s.prefill_chunk, "--prefill-chunk");
  }
  if (!(s.mfu > 0 && s.mfu <= 1)) throw PlanError("--mfu must be in (0, 1]");
  if (!(s.mbu > 0 && s.mbu <= 1)) throw PlanError("--mbu must be in (0, 1]");
  if (s.overhead_gb < 0) throw PlanError("--overhead-gb must not be negative");
  if (s.max_tp < 1) throw PlanError("--max-tp must be at least 1");
  if (s.max_gpus < 1) throw PlanError("--max-gpus must be at least 1");
  if (!model.has_architecture() && training && s.method != Method::full &&
      s.method != Method::pretrain)
    throw PlanError("--method " + to_string(s.method) +
                    " needs the architecture (LoRA adapters depend on the layer shapes): give "
                    "--model or --layers/--hidden/... instead of --params");
  check_parallel(s, model);
}

}  // namespace lmf::planner
