// lmforge plan: memory, GPUs, time and cost for a model and a method (core/planner/).
#include "hosts/lmforge/cli_common.h"
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"

#include "core/planner/explain.h"
#include "core/planner/hf_config_reader.h"
#include "core/planner/plan_error.h"
#include "core/planner/planner.h"
#include "core/planner/presets.h"
#include "core/planner/report_json.h"
#include "core/planner/report_table.h"
#include "core/planner/units.h"

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

namespace lmf::cli {
namespace {

using planner::Method;
using planner::PlanError;

struct PlanOptions {
  CommonOptions common;
  std::string model;
  std::string params;
  std::string method = "inference";
  std::vector<std::string> gpus;
  std::vector<std::string> catalogs;
  std::string tokens;
  bool json = false;
  bool explain = false;
  bool list_models = false;
  bool list_gpus = false;
};

po::options_description plan_options(PlanOptions& o) {
  po::options_description all = common_options(o.common);
  po::options_description model("Model (one of)");
  model.add_options()("model", po::value(&o.model),
                      "a preset (--list-models) or a Hugging Face config.json, or "
                      "its folder; also the first positional argument")(
      "params", po::value(&o.params),
      "a bare parameter count (70B, 7.6e9): weights and optimizer "
      "states only, no activations or KV cache")("layers", po::value<std::int64_t>(),
                                                 "raw numbers: decoder layers")(
      "hidden", po::value<std::int64_t>(), "hidden size h")(
      "heads", po::value<std::int64_t>(), "attention heads")("kv-heads", po::value<std::int64_t>(),
                                                             "key/value heads (default: --heads)")(
      "head-dim", po::value<std::int64_t>(), "per-head width (default: h / heads)")(
      "intermediate", po::value<std::int64_t>(), "MLP width")("vocab", po::value<std::int64_t>(),
                                                              "vocabulary size")(
      "tie-embeddings", po::bool_switch(), "the output projection is the input embedding")(
      "mlp", po::value<std::string>(), "gated (SwiGLU, default) or gelu")(
      "dropout", po::bool_switch(), "GPT-style dropout layers (activation masks)")(
      "experts", po::value<std::int64_t>(), "routed experts per MoE layer")(
      "experts-per-token", po::value<std::int64_t>(), "experts each token uses (k)")(
      "expert-intermediate", po::value<std::int64_t>(), "MLP width of one expert")(
      "shared-experts", po::value<std::int64_t>(), "shared experts per MoE layer")(
      "first-dense-layers", po::value<std::int64_t>(), "leading layers with a dense MLP");
  po::options_description method("Method");
  method.add_options()("method", po::value(&o.method),
                       "inference (default), lora, qlora, full, pretrain")(
      "dtype", po::value<std::string>(),
      "weights: inference fp32|bf16|fp16|fp8|int8|int4 (bf16); "
      "LoRA base bf16|fp16|fp32; QLoRA base int4 (NF4)|int8")(
      "group-size", po::value<int>(), "int4 inference: weights per scale (128)")(
      "no-double-quant", po::bool_switch(), "QLoRA: NF4 without double quantization")(
      "precision", po::value<std::string>(),
      "full/pretrain: mixed (bf16 + fp32 master, "
      "default), bf16, fp32")("fp32-grads", po::bool_switch(),
                              "full/pretrain: accumulate gradients in fp32")(
      "optimizer", po::value<std::string>(), "adamw (default), adamw8bit, sgd")(
      "lora-rank", po::value<int>(), "LoRA rank r (8)")("lora-targets", po::value<std::string>(),
                                                        "q,k,v,o,gate,up,down (default: all), or "
                                                        "attention, mlp")(
      "adapter-dtype", po::value<std::string>(),
      "lora/qlora: what the adapters compute in, fp32, bf16, fp16 (default: the "
      "trainer's: lmforge the activations' dtype, hf fp32 as PEFT)")(
      "trainer", po::value<std::string>(),
      "training: whose code keeps the activations: lmforge (default) or hf "
      "(transformers + PEFT)")("zero", po::value<int>(),
                               "ZeRO stage 0-3 (full/pretrain: 3, LoRA: 0)")(
      "offload-optimizer", po::bool_switch(), "ZeRO-Offload: optimizer states in CPU memory")(
      "offload-params", po::bool_switch(), "ZeRO-Infinity: parameters in CPU memory (--zero 3)")(
      "checkpointing", po::value<std::string>(),
      "activation checkpointing: full (default), "
      "selective, none")("attention", po::value<std::string>(), "flash (default) or eager")(
      "no-sequence-parallel", po::bool_switch(), "TP without sequence parallelism")(
      "micro-batch", po::value<std::int64_t>(), "sequences per GPU per micro-step (1)")(
      "seq-len", po::value<std::int64_t>(), "training sequence length (2048; pretrain 4096)")(
      "grad-accum", po::value<std::int64_t>(), "gradient-accumulation steps (1)")(
      "context", po::value<std::int64_t>(), "inference: tokens per sequence (4096)")(
      "concurrency", po::value<std::int64_t>(), "inference: sequences at once (1)")(
      "prefill-chunk", po::value<std::int64_t>(), "inference: tokens per prefill pass (2048)")(
      "kv-dtype", po::value<std::string>(),
      "inference: KV cache bf16 (default), fp16, fp8, "
      "int8, fp32");
  po::options_description hardware("GPUs and parallelism");
  hardware.add_options()("gpu", po::value(&o.gpus)->composing(),
                         "a catalog GPU (repeatable or a,b,c; default: all)")(
      "gpu-catalog", po::value(&o.catalogs)->composing(),
      "merge a GPU catalog file over the "
      "built-in one (configs/gpus.json)")("tp", po::value<int>(),
                                          "tensor-parallel degree (default: searched)")(
      "pp", po::value<int>(), "pipeline-parallel degree (default: searched)")(
      "dp", po::value<int>(), "data-parallel degree (default: searched)")(
      "ep", po::value<int>(), "expert-parallel degree, within DP (default: searched)")(
      "gpus", po::value<int>(), "exactly this many GPUs (TP x PP x DP)")(
      "max-tp", po::value<int>(), "largest TP the search tries (8: one node)")(
      "max-pp", po::value<std::int64_t>(), "largest PP the search tries (the layers)")(
      "max-gpus", po::value<int>(), "most GPUs the search tries (1024)");
  po::options_description time("Time and cost");
  time.add_options()("tokens", po::value(&o.tokens),
                     "token budget: tokens to train on, or to generate")(
      "mfu", po::value<double>(), "fraction of the 16-bit tensor peak sustained (0.40)")(
      "mbu", po::value<double>(), "inference: fraction of memory bandwidth in decode (0.60)")(
      "overhead-gb", po::value<double>(),
      "CUDA context, workspaces, allocator slack per GPU (1.0)");
  po::options_description output("Output");
  output.add_options()("json", po::bool_switch(&o.json), "print JSON for tools")(
      "explain", po::bool_switch(&o.explain), "print every formula with its numbers")(
      "list-models", po::bool_switch(&o.list_models), "list the presets")(
      "list-gpus", po::bool_switch(&o.list_gpus), "list the GPU catalog");
  all.add(model).add(method).add(hardware).add(time).add(output);
  return all;
}

bool given(const po::variables_map& v, const char* name) {
  return v.count(name) > 0 && !v[name].defaulted() &&
         !(v[name].value().type() == typeid(bool) && !v[name].as<bool>());
}

template <typename T>
std::optional<T> get(const po::variables_map& v, const char* name) {
  if (!v.count(name)) return std::nullopt;
  return v[name].as<T>();
}

const std::vector<const char*> kArchitecture{"layers",
                                             "hidden",
                                             "heads",
                                             "kv-heads",
                                             "head-dim",
                                             "intermediate",
                                             "vocab",
                                             "tie-embeddings",
                                             "mlp",
                                             "dropout",
                                             "experts",
                                             "experts-per-token",
                                             "expert-intermediate",
                                             "shared-experts",
                                             "first-dense-layers"};

planner::ModelSpec raw_model(const po::variables_map& v) {
  auto required = [&](const char* name) {
    const auto value = get<std::int64_t>(v, name);
    if (!value)
      throw PlanError(std::string("--") + name + " is needed to describe the model by its numbers");
    if (*value < 1) throw PlanError(std::string("--") + name + " must be at least 1");
    return *value;
  };
  auto optional = [&](const char* name, std::int64_t fallback) {
    const auto value = get<std::int64_t>(v, name);
    if (value && *value < (std::string(name) == "first-dense-layers" ? 0 : 1))
      throw PlanError(std::string("--") + name + " must be positive");
    return value.value_or(fallback);
  };
  planner::ModelSpec m;
  m.name = "custom";
  m.family = "custom";
  m.source = "command line";
  m.layers = required("layers");
  m.hidden = required("hidden");
  m.heads = required("heads");
  m.vocab = required("vocab");
  m.kv_heads = optional("kv-heads", m.heads);
  if (m.heads % m.kv_heads != 0)
    throw PlanError("--kv-heads " + std::to_string(m.kv_heads) + " does not divide --heads " +
                    std::to_string(m.heads));
  if (!v.count("head-dim") && m.hidden % m.heads != 0)
    throw PlanError("--hidden " + std::to_string(m.hidden) + " is not a multiple of --heads " +
                    std::to_string(m.heads) + "; give --head-dim");
  m.head_dim = optional("head-dim", m.hidden / m.heads);
  m.tied_embeddings = v["tie-embeddings"].as<bool>();
  m.dropout = v["dropout"].as<bool>();
  if (auto mlp = get<std::string>(v, "mlp")) {
    if (*mlp == "gelu" || *mlp == "plain")
      m.mlp = planner::MlpKind::plain;
    else if (*mlp != "gated" && *mlp != "swiglu")
      throw PlanError("--mlp \"" + *mlp + "\": expected gated or gelu");
  }
  if (v.count("experts")) {
    planner::MoeSpec& moe = m.moe;
    moe.routed_experts = required("experts");
    moe.experts_per_token = required("experts-per-token");
    moe.expert_intermediate = required("expert-intermediate");
    moe.shared_experts = optional("shared-experts", 0);
    moe.shared_intermediate = moe.shared_experts * moe.expert_intermediate;
    if (moe.experts_per_token > moe.routed_experts)
      throw PlanError("--experts-per-token " + std::to_string(moe.experts_per_token) +
                      " is more than --experts " + std::to_string(moe.routed_experts));
    const std::int64_t dense = optional("first-dense-layers", 0);
    if (dense > m.layers)
      throw PlanError("--first-dense-layers " + std::to_string(dense) + " is more than --layers " +
                      std::to_string(m.layers));
    moe.moe_layers.assign(static_cast<std::size_t>(m.layers), true);
    for (std::int64_t i = 0; i < dense; ++i) moe.moe_layers[static_cast<std::size_t>(i)] = false;
    if (dense > 0) m.intermediate = required("intermediate");
  } else {
    for (const char* name :
         {"experts-per-token", "expert-intermediate", "shared-experts", "first-dense-layers"})
      if (v.count(name)) throw PlanError(std::string("--") + name + " needs --experts");
    m.intermediate = required("intermediate");
  }
  return m;
}

planner::ModelSpec load_model(const PlanOptions& o, const po::variables_map& v) {
  bool architecture = false;
  for (const char* name : kArchitecture) architecture = architecture || given(v, name);
  const int sources = (!o.model.empty()) + (!o.params.empty()) + architecture;
  if (sources == 0)
    throw PlanError(
        "name a model: a preset (lmforge plan --list-models), a config.json, "
        "--params N, or --layers/--hidden/--heads/--intermediate/--vocab");
  if (sources > 1)
    throw PlanError("give one model: --model, --params or the architecture numbers, not several");
  if (!o.params.empty()) {
    planner::ModelSpec m;
    m.bare_params = planner::parse_count(o.params, "--params");
    m.name = o.params + " parameters";
    m.family = "bare";
    m.source = "command line";
    return m;
  }
  if (architecture) return raw_model(v);
  if (planner::is_preset(o.model)) return planner::load_preset(o.model);
  std::error_code ignored;
  const std::filesystem::path path(o.model);
  if (std::filesystem::exists(path, ignored) || o.model.find('/') != std::string::npos ||
      path.extension() == ".json")
    return planner::read_hf_config(path);
  return planner::load_preset(o.model);  // throws, naming the closest preset
}

// Options that only one kind of method reads: giving them elsewhere is a mistake.
void check_applicable(const po::variables_map& v, Method method) {
  const bool training = planner::is_training(method);
  const bool adapters = method == Method::lora || method == Method::qlora;
  struct Rule {
    const char* option;
    bool applies;
    const char* what;
  };
  const std::vector<Rule> rules{
      {"precision", method == Method::full || method == Method::pretrain, "full and pretrain"},
      {"fp32-grads", method == Method::full || method == Method::pretrain, "full and pretrain"},
      {"dtype", method != Method::full && method != Method::pretrain,
       "inference, lora and qlora (full training uses --precision)"},
      {"lora-rank", adapters, "lora and qlora"},
      {"lora-targets", adapters, "lora and qlora"},
      {"adapter-dtype", adapters, "lora and qlora"},
      {"trainer", training, "training methods"},
      {"no-double-quant", method == Method::qlora, "qlora"},
      {"optimizer", training, "training methods"},
      {"zero", training, "training methods"},
      {"offload-optimizer", training, "training methods"},
      {"offload-params", training, "training methods"},
      {"checkpointing", training, "training methods"},
      {"attention", training, "training methods"},
      {"no-sequence-parallel", training, "training methods"},
      {"micro-batch", training, "training methods"},
      {"seq-len", training, "training methods"},
      {"grad-accum", training, "training methods"},
      {"context", !training, "inference"},
      {"concurrency", !training, "inference"},
      {"prefill-chunk", !training, "inference"},
      {"kv-dtype", !training, "inference"},
      {"group-size", !training, "inference (int4)"},
      {"mbu", !training, "inference"},
  };
  for (const Rule& rule : rules)
    if (!rule.applies && given(v, rule.option))
      throw PlanError(std::string("--") + rule.option + " applies to " + rule.what +
                      ", not --method " + planner::to_string(method));
}

planner::PlanSettings read_settings(const PlanOptions& o, const po::variables_map& v) {
  const Method method = planner::parse_method(o.method);
  check_applicable(v, method);
  planner::PlanSettings s = planner::defaults_for(method);
  if (auto dtype = get<std::string>(v, "dtype"))
    s.weights = planner::parse_weight_format(*dtype, "--dtype");
  if (auto value = get<int>(v, "group-size")) s.group_size = *value;
  if (v["no-double-quant"].as<bool>()) s.double_quant = false;
  if (auto value = get<std::string>(v, "precision")) s.precision = planner::parse_precision(*value);
  if (v["fp32-grads"].as<bool>()) s.fp32_grads = true;
  if (auto value = get<std::string>(v, "optimizer")) s.optimizer = planner::parse_optimizer(*value);
  if (auto value = get<int>(v, "lora-rank")) s.lora_rank = *value;
  if (auto value = get<std::string>(v, "lora-targets"))
    s.lora_targets = planner::parse_lora_targets(*value);
  if (auto value = get<std::string>(v, "adapter-dtype"))
    s.adapter_bytes = planner::parse_adapter_dtype(*value);
  if (auto value = get<std::string>(v, "trainer")) s.trainer = planner::parse_trainer(*value);
  if (auto value = get<int>(v, "zero")) s.zero = *value;
  if (v["offload-optimizer"].as<bool>()) s.offload_optimizer = true;
  if (v["offload-params"].as<bool>()) s.offload_params = true;
  if (auto value = get<std::string>(v, "checkpointing"))
    s.checkpointing = planner::parse_checkpointing(*value);
  if (auto value = get<std::string>(v, "attention")) s.attention = planner::parse_attention(*value);
  if (v["no-sequence-parallel"].as<bool>()) s.sequence_parallel = false;
  if (auto value = get<std::int64_t>(v, "micro-batch")) s.micro_batch = *value;
  if (auto value = get<std::int64_t>(v, "seq-len")) s.seq_len = *value;
  if (auto value = get<std::int64_t>(v, "grad-accum")) s.grad_accum = *value;
  if (auto value = get<std::int64_t>(v, "context")) s.context = *value;
  if (auto value = get<std::int64_t>(v, "concurrency")) s.concurrency = *value;
  if (auto value = get<std::int64_t>(v, "prefill-chunk")) s.prefill_chunk = *value;
  if (auto value = get<std::string>(v, "kv-dtype")) s.kv_bytes = planner::parse_kv_dtype(*value);
  if (auto value = get<int>(v, "tp")) s.parallel.tp = *value < 1 ? -1 : *value;
  if (auto value = get<int>(v, "pp")) s.parallel.pp = *value < 1 ? -1 : *value;
  if (auto value = get<int>(v, "dp")) s.parallel.dp = *value < 1 ? -1 : *value;
  if (auto value = get<int>(v, "ep")) s.parallel.ep = *value < 1 ? -1 : *value;
  if (auto value = get<int>(v, "gpus")) s.parallel.gpus = *value < 1 ? -1 : *value;
  if (auto value = get<int>(v, "max-tp")) s.max_tp = *value;
  if (auto value = get<std::int64_t>(v, "max-pp")) s.max_pp = *value;
  if (auto value = get<int>(v, "max-gpus")) s.max_gpus = *value;
  if (!o.tokens.empty()) s.tokens = planner::parse_count(o.tokens, "--tokens");
  if (auto value = get<double>(v, "mfu")) s.mfu = *value;
  if (auto value = get<double>(v, "mbu")) s.mbu = *value;
  if (auto value = get<double>(v, "overhead-gb")) s.overhead_gb = *value;
  return s;
}

std::vector<std::string> split_commas(const std::vector<std::string>& values) {
  std::vector<std::string> names;
  for (const std::string& value : values) {
    std::stringstream words(value);
    std::string word;
    while (std::getline(words, word, ','))
      if (!word.empty()) names.push_back(word);
  }
  return names;
}

}  // namespace

int plan(const Args& args) {
  PlanOptions o;
  po::options_description description = plan_options(o);
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map v;
  if (!parse_command(
          args, description, positional, v,
          "lmforge plan MODEL [--method M] [--gpu G]... [options]\n"
          "  MODEL: a preset (--list-models), a Hugging Face config.json or its folder;\n"
          "  or --params N, or the numbers --layers/--hidden/--heads/--intermediate/--vocab"))
    return kExitOk;

  planner::GpuCatalog catalog = planner::builtin_catalog();
  for (const std::string& file : o.catalogs) planner::merge_catalog_file(catalog, file);

  if (o.list_models || o.list_gpus) {
    if (o.list_models) {
      if (o.json)
        std::cout << planner::model_list_json().dump(2) << "\n";
      else
        planner::write_model_list(std::cout);
    }
    if (o.list_gpus) {
      if (o.json)
        std::cout << planner::catalog_to_json(catalog).dump(2) << "\n";
      else
        planner::write_gpu_list(std::cout, catalog);
    }
    return kExitOk;
  }

  planner::PlanRequest request;
  request.settings = read_settings(o, v);
  request.model = load_model(o, v);
  request.gpus = split_commas(o.gpus);
  request.explain = o.explain;
  const planner::Plan plan = planner::make_plan(request, catalog);
  if (o.json) {
    std::cout << planner::plan_to_json(plan).dump(2) << "\n";
    return kExitOk;
  }
  planner::write_table(std::cout, plan);
  if (o.explain) {
    std::cout << "\nHow each number was computed";
    if (plan.primary)
      std::cout << " (" << plan.gpus.front().id << ", " << plan.layout.describe() << ")";
    std::cout << "\n";
    planner::write_explanation(std::cout, plan.derivation);
  }
  return kExitOk;
}

}  // namespace lmf::cli
