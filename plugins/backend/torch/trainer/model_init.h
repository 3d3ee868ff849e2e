// A new model of a given architecture with random weights, written as a Hugging Face
// folder (config.json, generation_config.json, model.safetensors, the tokenizer's files)
// so that pretraining from scratch starts from a folder like any other.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace lmf::torch_backend {

// `init`: {"architecture": "llama" | "qwen2", "tokenizer": FOLDER, "hidden_size",
// "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
// "max_position_embeddings", "rope_theta", "rms_norm_eps", "tie_word_embeddings",
// "vocab_size" (default: the tokenizer's), "bos_token", "eos_token"}. Weights as
// transformers initialises them: normal(0, initializer_range 0.02), norms 1, biases 0.
// Errors name the field (`init.hidden_size: …`).
void create_model_folder(const std::string& folder, const nlohmann::json& init, uint64_t seed);

}  // namespace lmf::torch_backend
