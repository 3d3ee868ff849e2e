// The model's shape and options, read from a Hugging Face config.json.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::torch_backend {

// RoPE frequency scaling (config.json's rope_scaling, or rope_parameters in
// transformers ≥ 5). Note [RoPE scaling] in rope.cpp says what each type computes.
struct RopeScaling {
  std::string type = "default";  // default | linear | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 0;
};

struct ModelConfig {
  std::string architecture;  // e.g. "LlamaForCausalLM"
  std::string model_type;    // e.g. "llama", "qwen2"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;  // q/k/v (and for Llama also o) projections have biases
  bool qkv_bias_only = false;   // Qwen2: q/k/v biases, none on o_proj
  bool mlp_bias = false;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "float32";  // the checkpoint's dtype as config.json states it
  std::vector<int64_t> eos_token_ids;   // generation_config.json overrides config.json
  int64_t bos_token_id = -1;
  int64_t pad_token_id = -1;

  nlohmann::json raw;  // the whole config.json, written back unchanged by save
};

// Reads config.json (and generation_config.json beside it when present) from a model
// folder. Throws lmf::sdk::Error naming the file and field on anything missing or wrong,
// and naming the architecture when no family supports it.
ModelConfig read_model_config(const std::string& folder);

// Parses an already-read config.json; `origin` names it in errors.
ModelConfig parse_model_config(const nlohmann::json& config, const std::string& origin);

}  // namespace lmf::torch_backend
