// config.json reading: both RoPE layouts (transformers < 5 and ≥ 5), family options, and
// errors that name the file, the field or the architecture.
#include "model_config.h"
#include "rope.h"

#include <lmf/sdk/error.h>

#include <gtest/gtest.h>

#include <cmath>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

json llama_config() {
  return {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"vocab_size", 128},
          {"hidden_size", 64}, {"intermediate_size", 96}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"max_position_embeddings", 256}};
}

std::string error_of(const json& config) {
  try {
    parse_model_config(config, "model/config.json");
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ModelConfig, ReadsTheShapeAndDerivesHeadDim) {
  ModelConfig c = parse_model_config(llama_config(), "config.json");
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_EQ(c.rope_scaling.type, "default");
}

TEST(ModelConfig, ReadsLlama3RopeScalingInTheOldLayout) {
  json config = llama_config();
  config["rope_theta"] = 500000.0;
  config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}};
  ModelConfig c = parse_model_config(config, "config.json");
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
}

TEST(ModelConfig, ReadsRopeParametersOfTransformers5) {
  json config = llama_config();
  config["rope_parameters"] = {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 1e6}};
  ModelConfig c = parse_model_config(config, "config.json");
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rope_scaling.type, "linear");
}

TEST(ModelConfig, Llama3FrequenciesFollowTheThreeBands) {
  // head_dim 16, theta 10000: wavelengths 2π·10000^(2i/16). Against original 64 with
  // factors 1 and 4: wavelengths below 16 stay, above 64 are divided by 8, between blend.
  json config = llama_config();
  config["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}};
  torch::Tensor inv = rope_inverse_frequencies(parse_model_config(config, "config.json"));
  ASSERT_EQ(inv.size(0), 8);
  for (int64_t i = 0; i < 8; ++i) {
    const double base = 1.0 / std::pow(10000.0, 2.0 * i / 16.0);
    const double wavelen = 2 * M_PI / base;
    double want = base;
    if (wavelen > 64) {
      want = base / 8;
    } else if (wavelen >= 16) {
      const double smooth = (64 / wavelen - 1.0) / (4.0 - 1.0);
      want = (1 - smooth) * base / 8 + smooth * base;
    }
    EXPECT_NEAR(inv[i].item<double>(), want, 1e-6 * want) << "frequency " << i;
  }
}

TEST(ModelConfig, Qwen2HasQkvBiasesOnly) {
  json config = llama_config();
  config["architectures"] = {"Qwen2ForCausalLM"};
  config["model_type"] = "qwen2";
  ModelConfig c = parse_model_config(config, "config.json");
  EXPECT_TRUE(c.attention_bias);
  EXPECT_TRUE(c.qkv_bias_only);
}

TEST(ModelConfig, AnUnsupportedArchitectureIsNamedWithWhatIsSupported) {
  json config = llama_config();
  config["architectures"] = {"MixtralForCausalLM"};
  const std::string message = error_of(config);
  EXPECT_NE(message.find("model/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("MixtralForCausalLM"), std::string::npos) << message;
  EXPECT_NE(message.find("LlamaForCausalLM"), std::string::npos) << message;
  EXPECT_NE(message.find("Qwen2ForCausalLM"), std::string::npos) << message;
}

TEST(ModelConfig, MissingOrWrongFieldsAreNamed) {
  json missing = llama_config();
  missing.erase("hidden_size");
  EXPECT_NE(error_of(missing).find("field \"hidden_size\" is missing"), std::string::npos);
  json wrong = llama_config();
  wrong["num_hidden_layers"] = "two";
  EXPECT_NE(error_of(wrong).find("field \"num_hidden_layers\" must be a positive integer"), std::string::npos);
  json gqa = llama_config();
  gqa["num_key_value_heads"] = 3;
  EXPECT_NE(error_of(gqa).find("num_key_value_heads"), std::string::npos);
  json yarn = llama_config();
  yarn["rope_scaling"] = {{"type", "yarn"}, {"factor", 4.0}};
  EXPECT_NE(error_of(yarn).find("\"yarn\""), std::string::npos);
  json window = llama_config();
  window["architectures"] = {"Qwen2ForCausalLM"};
  window["use_sliding_window"] = true;
  EXPECT_NE(error_of(window).find("use_sliding_window"), std::string::npos);
}

TEST(ModelConfig, EosMayBeAListAndGenerationConfigOverridesIt) {
  json config = llama_config();
  config["eos_token_id"] = {128001, 128008, 128009};
  EXPECT_EQ(parse_model_config(config, "config.json").eos_token_ids,
            (std::vector<int64_t>{128001, 128008, 128009}));
}

}  // namespace
}  // namespace lmf::torch_backend
