#include "core/planner/hf_config_reader.h"

#include "core/config/diagnostics.h"
#include "core/planner/json_file.h"

#include <algorithm>
#include <map>

namespace lmf::planner {

using config::ConfigError;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

std::string model_type_of(const JsonFields& f) {
  if (auto type = f.optional_string("model_type")) return *type;
  static const std::map<std::string, std::string> by_architecture{
      {"LlamaForCausalLM", "llama"},
      {"MistralForCausalLM", "mistral"},
      {"Qwen2ForCausalLM", "qwen2"},
      {"Qwen3ForCausalLM", "qwen3"},
      {"DeepseekForCausalLM", "deepseek"},
      {"DeepseekV2ForCausalLM", "deepseek_v2"},
      {"DeepseekV3ForCausalLM", "deepseek_v3"},
      {"MixtralForCausalLM", "mixtral"},
      {"Qwen2MoeForCausalLM", "qwen2_moe"},
      {"Qwen3MoeForCausalLM", "qwen3_moe"},
  };
  const json& config = f.object();
  if (config.contains("architectures") && config["architectures"].is_array() &&
      !config["architectures"].empty() && config["architectures"][0].is_string()) {
    const auto found = by_architecture.find(config["architectures"][0].get<std::string>());
    if (found != by_architecture.end()) return found->second;
  }
  throw f.error("model_type", "missing: the planner needs it to know the architecture (" +
                                  joined(supported_model_types()) + ")");
}

// DeepSeek V1/V2/V3: routed experts in layers first_k_dense_replace.., every moe_layer_freq.
void read_deepseek_moe(const JsonFields& f, ModelSpec& m) {
  const auto experts = f.optional_positive_int("n_routed_experts");
  if (!experts) return;
  MoeSpec& moe = m.moe;
  moe.routed_experts = *experts;
  moe.experts_per_token = f.positive_int("num_experts_per_tok");
  moe.expert_intermediate = f.positive_int("moe_intermediate_size");
  moe.shared_experts = f.optional_non_negative_int("n_shared_experts").value_or(0);
  moe.shared_intermediate = moe.shared_experts * moe.expert_intermediate;
  const std::int64_t first_dense = f.optional_non_negative_int("first_k_dense_replace").value_or(0);
  const std::int64_t frequency = f.optional_positive_int("moe_layer_freq").value_or(1);
  if (first_dense > m.layers)
    throw f.error("first_k_dense_replace", "is " + std::to_string(first_dense) +
                                               ", more than num_hidden_layers (" +
                                               std::to_string(m.layers) + ")");
  moe.moe_layers.assign(static_cast<std::size_t>(m.layers), false);
  for (std::int64_t i = first_dense; i < m.layers; ++i)
    moe.moe_layers[static_cast<std::size_t>(i)] = i % frequency == 0;
}

// Qwen2-MoE / Qwen3-MoE: MoE in every decoder_sparse_step-th layer, except mlp_only_layers.
void read_qwen_moe(const JsonFields& f, ModelSpec& m, bool shared) {
  MoeSpec& moe = m.moe;
  moe.routed_experts = f.positive_int("num_experts");
  moe.experts_per_token = f.positive_int("num_experts_per_tok");
  moe.expert_intermediate = f.positive_int("moe_intermediate_size");
  if (shared) {
    moe.shared_intermediate =
        f.optional_non_negative_int("shared_expert_intermediate_size").value_or(0);
    moe.shared_experts = moe.shared_intermediate > 0 ? 1 : 0;
    moe.shared_expert_gate = moe.shared_intermediate > 0;
  }
  const std::int64_t step = f.optional_positive_int("decoder_sparse_step").value_or(1);
  const std::vector<std::int64_t> dense_only = f.int_list("mlp_only_layers");
  moe.moe_layers.assign(static_cast<std::size_t>(m.layers), false);
  for (std::int64_t i = 0; i < m.layers; ++i)
    moe.moe_layers[static_cast<std::size_t>(i)] =
        (i + 1) % step == 0 &&
        std::find(dense_only.begin(), dense_only.end(), i) == dense_only.end();
}

void read_mla(const JsonFields& f, ModelSpec& m) {
  m.attention = AttentionKind::mla;
  m.mla.kv_lora_rank = f.positive_int("kv_lora_rank");
  m.mla.q_lora_rank = f.optional_positive_int("q_lora_rank").value_or(0);
  m.mla.qk_nope_head_dim = f.positive_int("qk_nope_head_dim");
  m.mla.qk_rope_head_dim = f.positive_int("qk_rope_head_dim");
  m.mla.v_head_dim = f.positive_int("v_head_dim");
  m.head_dim = m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim;
  m.kv_heads = m.heads;  // MLA has no grouped KV heads: each head decompresses its own
}

void add_notes(const JsonFields& f, ModelSpec& m) {
  const json& config = f.object();
  if (config.contains("quantization_config") && config["quantization_config"].is_object()) {
    const json& q = config["quantization_config"];
    std::string what = q.value("quant_method", std::string("unknown method"));
    if (q.contains("bits") && q["bits"].is_number_integer())
      what += ", " + std::to_string(q["bits"].get<int>()) + " bits";
    m.notes.push_back("config.json has a quantization_config (" + what +
                      "): the planner uses the --dtype you give, not the checkpoint's format");
  }
  if (f.optional_bool("use_sliding_window").value_or(false))
    m.notes.push_back(
        "sliding-window attention is not modeled: the KV cache is estimated for "
        "full attention (an upper bound)");
  if (f.optional_non_negative_int("num_nextn_predict_layers").value_or(0) > 0)
    m.notes.push_back(
        "the multi-token-prediction layers (num_nextn_predict_layers) are not "
        "counted: transformers does not load them for inference or fine-tuning");
}

}  // namespace

const std::vector<std::string>& supported_model_types() {
  static const std::vector<std::string> types{"llama",     "mistral",     "qwen2",       "qwen3",
                                              "deepseek",  "deepseek_v2", "deepseek_v3", "mixtral",
                                              "qwen2_moe", "qwen3_moe"};
  return types;
}

ModelSpec parse_hf_config(const json& config, const std::string& file, const std::string& name) {
  if (!config.is_object())
    throw ConfigError(file, "",
                      "expected a JSON object (a Hugging Face config.json), got " +
                          config::json_type_name(config));
  const JsonFields f(config, file);
  const std::string type = model_type_of(f);
  const auto& types = supported_model_types();
  if (std::find(types.begin(), types.end(), type) == types.end())
    throw f.error("model_type", config::json_quoted(type) +
                                    " is not an architecture the planner knows (" + joined(types) +
                                    "); describe the model with --layers, --hidden, --heads, "
                                    "--kv-heads, --intermediate and --vocab instead");

  ModelSpec m;
  m.family = type;
  m.source = file;
  m.name = name;
  if (auto path = f.optional_string("_name_or_path")) {
    const std::string base = fs::path(*path).filename().string();
    if (!base.empty() && base != "." && base != "..") m.name = base;
  }
  m.hidden = f.positive_int("hidden_size");
  m.layers = f.positive_int("num_hidden_layers");
  m.heads = f.positive_int("num_attention_heads");
  m.vocab = f.positive_int("vocab_size");
  m.kv_heads = f.optional_positive_int("num_key_value_heads").value_or(m.heads);
  if (m.heads % m.kv_heads != 0)
    throw f.error("num_key_value_heads", std::to_string(m.kv_heads) +
                                             " does not divide num_attention_heads (" +
                                             std::to_string(m.heads) + ")");
  if (auto head_dim = f.optional_positive_int("head_dim")) {
    m.head_dim = *head_dim;
  } else {
    if (m.hidden % m.heads != 0 && type.rfind("deepseek_v", 0) != 0)
      throw f.error("hidden_size", std::to_string(m.hidden) +
                                       " is not a multiple of num_attention_heads (" +
                                       std::to_string(m.heads) + ") and there is no head_dim");
    m.head_dim = m.hidden / m.heads;
  }
  m.tied_embeddings = f.optional_bool("tie_word_embeddings").value_or(false);

  if (type == "mixtral") {
    m.moe.routed_experts = f.positive_int("num_local_experts");
    m.moe.experts_per_token = f.positive_int("num_experts_per_tok");
    m.moe.expert_intermediate = f.positive_int("intermediate_size");
    m.moe.moe_layers.assign(static_cast<std::size_t>(m.layers), true);
  } else {
    m.intermediate = f.positive_int("intermediate_size");
  }

  if (type == "qwen2" || type == "qwen2_moe") {
    m.qkv_bias = true;  // Qwen2Attention: q/k/v with bias, o without
  } else {
    m.qkv_bias = m.o_bias = f.optional_bool("attention_bias").value_or(false);
  }
  if (type == "llama") m.mlp_bias = f.optional_bool("mlp_bias").value_or(false);
  if (type == "qwen3" || type == "qwen3_moe") m.qk_norm = true;

  if (type == "deepseek" || type == "deepseek_v2" || type == "deepseek_v3") read_deepseek_moe(f, m);
  if (type == "deepseek_v2" || type == "deepseek_v3") read_mla(f, m);
  if (type == "deepseek_v3" && m.is_moe())
    m.moe.router_bias = f.optional_string("topk_method").value_or("") == "noaux_tc";
  if (type == "qwen2_moe") read_qwen_moe(f, m, true);
  if (type == "qwen3_moe") read_qwen_moe(f, m, false);

  if (m.is_moe() && m.moe.experts_per_token > m.moe.routed_experts)
    throw f.error("num_experts_per_tok", std::to_string(m.moe.experts_per_token) +
                                             " is more than the number of routed experts (" +
                                             std::to_string(m.moe.routed_experts) + ")");
  add_notes(f, m);
  return m;
}

ModelSpec read_hf_config(const fs::path& path) {
  std::error_code ignored;
  const fs::path file = fs::is_directory(path, ignored) ? path / "config.json" : path;
  std::string name = fs::absolute(file, ignored).parent_path().filename().string();
  if (name.empty()) name = file.stem().string();
  return parse_hf_config(read_json_file(file), file.string(), name);
}

}  // namespace lmf::planner
