// The model shapes the backend benchmarks measure, as config.json objects (random
// weights are made from them): the DeepSeek-R1-Distill sizes the issues name.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace lmf::bench {

using nlohmann::json;

inline json shape_config(const std::string& shape) {
  if (shape == "llama8b")  // DeepSeek-R1-Distill-Llama-8B / Llama-3.1-8B
    return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 128256},
            {"hidden_size", 4096}, {"intermediate_size", 14336}, {"num_hidden_layers", 32},
            {"num_attention_heads", 32}, {"num_key_value_heads", 8}, {"max_position_embeddings", 131072},
            {"rms_norm_eps", 1e-5}, {"rope_theta", 500000.0},
            {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}}},
            {"tie_word_embeddings", false}, {"dtype", "bfloat16"}};
  if (shape == "llama70b") {  // DeepSeek-R1-Distill-Llama-70B / Llama-3.3-70B
    json config = shape_config("llama8b");
    config["hidden_size"] = 8192, config["intermediate_size"] = 28672, config["num_hidden_layers"] = 80;
    config["num_attention_heads"] = 64;
    return config;
  }
  if (shape == "qwen1.5b")  // DeepSeek-R1-Distill-Qwen-1.5B / Qwen2.5-Math-1.5B
    return {{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"}, {"vocab_size", 151936},
            {"hidden_size", 1536}, {"intermediate_size", 8960}, {"num_hidden_layers", 28},
            {"num_attention_heads", 12}, {"num_key_value_heads", 2}, {"max_position_embeddings", 131072},
            {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false},
            {"dtype", "bfloat16"}};
  if (shape == "qwen7b")  // DeepSeek-R1-Distill-Qwen-7B / Qwen2.5-Math-7B
    return {{"architectures", {"Qwen2ForCausalLM"}}, {"model_type", "qwen2"}, {"vocab_size", 152064},
            {"hidden_size", 3584}, {"intermediate_size", 18944}, {"num_hidden_layers", 28},
            {"num_attention_heads", 28}, {"num_key_value_heads", 4}, {"max_position_embeddings", 131072},
            {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false},
            {"dtype", "bfloat16"}};
  throw std::runtime_error("unknown shape " + shape + " (llama8b, llama70b, qwen1.5b, qwen7b)");
}

}  // namespace lmf::bench
