#include "core/planner/presets.h"

#include "core/config/diagnostics.h"
#include "core/planner/hf_config_reader.h"
#include "core/planner/plan_error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace lmf::planner {
namespace {

// The architecture fields of each model's config.json on the Hugging Face Hub (fields the
// planner does not read, such as rope_theta or bos_token_id, are left out).
constexpr const char* kQwen1_5B = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
  "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936,
  "max_position_embeddings": 131072, "tie_word_embeddings": false,
  "use_sliding_window": false, "torch_dtype": "bfloat16"})";

constexpr const char* kQwen7B = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
  "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
  "max_position_embeddings": 131072, "tie_word_embeddings": false,
  "use_sliding_window": false, "torch_dtype": "bfloat16"})";

constexpr const char* kQwen14B = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 5120, "intermediate_size": 13824, "num_hidden_layers": 48,
  "num_attention_heads": 40, "num_key_value_heads": 8, "vocab_size": 152064,
  "max_position_embeddings": 131072, "tie_word_embeddings": false,
  "use_sliding_window": false, "torch_dtype": "bfloat16"})";

constexpr const char* kQwen32B = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
  "hidden_size": 5120, "intermediate_size": 27648, "num_hidden_layers": 64,
  "num_attention_heads": 40, "num_key_value_heads": 8, "vocab_size": 152064,
  "max_position_embeddings": 131072, "tie_word_embeddings": false,
  "use_sliding_window": false, "torch_dtype": "bfloat16"})";

constexpr const char* kLlama8B = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
  "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
  "max_position_embeddings": 131072, "tie_word_embeddings": false,
  "attention_bias": false, "mlp_bias": false, "torch_dtype": "bfloat16"})";

constexpr const char* kLlama70B = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 8192, "intermediate_size": 28672, "num_hidden_layers": 80,
  "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 128256,
  "max_position_embeddings": 131072, "tie_word_embeddings": false,
  "attention_bias": false, "mlp_bias": false, "torch_dtype": "bfloat16"})";

constexpr const char* kDeepSeekLlm67B = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 8192, "intermediate_size": 22016, "num_hidden_layers": 95,
  "num_attention_heads": 64, "num_key_value_heads": 8, "vocab_size": 102400,
  "max_position_embeddings": 4096, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16"})";

constexpr const char* kDeepSeekMoe16B = R"({
  "architectures": ["DeepseekForCausalLM"], "model_type": "deepseek",
  "hidden_size": 2048, "intermediate_size": 10944, "num_hidden_layers": 28,
  "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 102400,
  "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6,
  "moe_intermediate_size": 1408, "first_k_dense_replace": 1, "moe_layer_freq": 1,
  "max_position_embeddings": 4096, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16"})";

constexpr const char* kDeepSeekV2Lite = R"({
  "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2",
  "hidden_size": 2048, "intermediate_size": 10944, "num_hidden_layers": 27,
  "num_attention_heads": 16, "num_key_value_heads": 16, "vocab_size": 102400,
  "q_lora_rank": null, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
  "qk_rope_head_dim": 64, "v_head_dim": 128,
  "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6,
  "moe_intermediate_size": 1408, "first_k_dense_replace": 1, "moe_layer_freq": 1,
  "max_position_embeddings": 163840, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16"})";

constexpr const char* kDeepSeekR1 = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "hidden_size": 7168, "intermediate_size": 18432, "num_hidden_layers": 61,
  "num_attention_heads": 128, "num_key_value_heads": 128, "vocab_size": 129280,
  "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
  "qk_rope_head_dim": 64, "v_head_dim": 128,
  "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
  "moe_intermediate_size": 2048, "first_k_dense_replace": 3, "moe_layer_freq": 1,
  "topk_method": "noaux_tc", "num_nextn_predict_layers": 1,
  "max_position_embeddings": 163840, "tie_word_embeddings": false,
  "torch_dtype": "bfloat16"})";

// The 7B model of seed 003 sec. 3.1 (its "config" block: LLaMA-7B shape, 52K vocabulary).
constexpr const char* kSeed003 = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
  "num_attention_heads": 32, "vocab_size": 52000, "max_position_embeddings": 2048,
  "tie_word_embeddings": false})";

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string canonical(const std::string& name) {
  const std::string lower = lowercase(name);
  const std::size_t slash = lower.rfind('/');
  return slash == std::string::npos ? lower : lower.substr(slash + 1);
}

const Preset* find(const std::string& name) {
  const std::string wanted = canonical(name);
  for (const Preset& preset : presets()) {
    if (preset.name == wanted || canonical(preset.repository) == wanted) return &preset;
    for (const std::string& alias : preset.aliases)
      if (alias == wanted) return &preset;
  }
  return nullptr;
}

}  // namespace

const std::vector<Preset>& presets() {
  static const std::vector<Preset> list{
      {"deepseek-r1-distill-qwen-1.5b",
       "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
       {},
       "R1 distilled into Qwen2.5-Math-1.5B",
       kQwen1_5B},
      {"deepseek-r1-distill-qwen-7b",
       "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
       {},
       "R1 distilled into Qwen2.5-Math-7B",
       kQwen7B},
      {"deepseek-r1-distill-qwen-14b",
       "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B",
       {},
       "R1 distilled into Qwen2.5-14B",
       kQwen14B},
      {"deepseek-r1-distill-qwen-32b",
       "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B",
       {},
       "R1 distilled into Qwen2.5-32B",
       kQwen32B},
      {"deepseek-r1-distill-llama-8b",
       "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
       {},
       "R1 distilled into Llama-3.1-8B",
       kLlama8B},
      {"deepseek-r1-distill-llama-70b",
       "deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
       {"deepseek-r1-70b"},
       "R1 distilled into Llama-3.3-70B-Instruct (the seeds' \"R1 70B\")",
       kLlama70B},
      {"deepseek-llm-67b-base",
       "deepseek-ai/deepseek-llm-67b-base",
       {"deepseek-67b", "deepseek-llm-67b"},
       "DeepSeek LLM 67B, dense, Llama architecture",
       kDeepSeekLlm67B},
      {"deepseek-moe-16b-base",
       "deepseek-ai/deepseek-moe-16b-base",
       {"deepseek-moe-16b"},
       "DeepSeekMoE 16B: 64 routed + 2 shared experts, 6 active",
       kDeepSeekMoe16B},
      {"deepseek-v2-lite",
       "deepseek-ai/DeepSeek-V2-Lite",
       {},
       "DeepSeek-V2-Lite: MLA attention, 64 routed + 2 shared experts",
       kDeepSeekV2Lite},
      {"deepseek-r1",
       "deepseek-ai/DeepSeek-R1",
       {"deepseek-v3", "deepseek-r1-671b"},
       "DeepSeek-R1 (V3 architecture): MLA, 256 routed + 1 shared experts, 8 active",
       kDeepSeekR1},
      {"seed-003-7b",
       "seed 003 sec. 3.1",
       {},
       "the 7B configuration written in seed 003 (LLaMA-7B shape, 52K vocabulary)",
       kSeed003},
  };
  return list;
}

bool is_preset(const std::string& name) {
  return find(name) != nullptr;
}

ModelSpec load_preset(const std::string& name) {
  if (const Preset* preset = find(name)) {
    ModelSpec spec = parse_hf_config(nlohmann::json::parse(preset->config_json),
                                     "preset " + preset->name, preset->name);
    spec.source = "preset";
    return spec;
  }
  std::vector<std::string> names;
  for (const Preset& preset : presets()) {
    names.push_back(preset.name);
    for (const std::string& alias : preset.aliases) names.push_back(alias);
  }
  std::string message =
      "--model " + config::json_quoted(name) + ": no such preset, and no such file";
  std::optional<std::string> closest = config::closest_name(canonical(name), names);
  if (!closest) {  // "qwen-7b" -> the one preset whose name contains it
    std::vector<std::string> containing;
    for (const Preset& preset : presets())
      if (preset.name.find(canonical(name)) != std::string::npos) containing.push_back(preset.name);
    if (containing.size() == 1) closest = containing.front();
  }
  if (closest) message += "; did you mean \"" + *closest + "\"?";
  message += "\nknown presets:";
  for (const Preset& preset : presets()) message += "\n  " + preset.name;
  throw PlanError(message);
}

}  // namespace lmf::planner
