// Reading config.json: what each family's fields mean, and errors that name the file and field.
#include "tests/planner/planner_test_support.h"

#include "core/config/config_error.h"
#include "core/planner/hf_config_reader.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lmf::planner::test {
namespace {

using config::ConfigError;
using nlohmann::json;

ConfigError read_error(const std::string& name) {
  try {
    read_hf_config(fixture(name));
  } catch (const ConfigError& error) {
    return error;
  }
  ADD_FAILURE() << name << " was read without an error";
  return ConfigError("", "", "");
}

TEST(HfConfigReader, ReadsAFolderOrAFile) {
  const ModelSpec folder = read_hf_config(fixture("llama-3-8b"));
  EXPECT_EQ(folder.name, "llama-3-8b");
  EXPECT_EQ(folder.family, "llama");
  EXPECT_EQ(folder.kv_heads, 8);
  EXPECT_EQ(folder.head_dim, 128);
  EXPECT_FALSE(folder.qkv_bias);
  const ModelSpec file = read_hf_config(fixture("llama-3-8b") / "config.json");
  EXPECT_EQ(file.hidden, 4096);
}

TEST(HfConfigReader, Qwen2HasQkvBiasAndQwen3QkNorms) {
  const ModelSpec qwen2 = read_hf_config(fixture("qwen2.5-7b.json"));
  EXPECT_TRUE(qwen2.qkv_bias);
  EXPECT_FALSE(qwen2.o_bias);
  const ModelSpec qwen3 = read_hf_config(fixture("qwen3-8b.json"));
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_FALSE(qwen3.qkv_bias);
  EXPECT_EQ(qwen3.head_dim, 128);
}

TEST(HfConfigReader, DeepSeekMoeLayers) {
  const ModelSpec moe = load_preset("deepseek-moe-16b-base");
  EXPECT_EQ(moe.moe.routed_experts, 64);
  EXPECT_EQ(moe.moe.shared_intermediate, 2 * 1408);
  EXPECT_FALSE(moe.is_moe_layer(0));  // first_k_dense_replace = 1
  EXPECT_TRUE(moe.is_moe_layer(1));
  EXPECT_EQ(moe.moe_layer_count(), 27);
  const ModelSpec v3 = load_preset("deepseek-r1");
  EXPECT_EQ(v3.attention, AttentionKind::mla);
  EXPECT_TRUE(v3.moe.router_bias);
  EXPECT_EQ(v3.moe_layer_count(), 58);
  ASSERT_FALSE(v3.notes.empty());  // the MTP layer is not counted
  EXPECT_NE(v3.notes.front().find("num_nextn_predict_layers"), std::string::npos);
}

TEST(HfConfigReader, ModelTypeFromArchitectures) {
  const json config = json::parse(R"({"architectures": ["MistralForCausalLM"], "hidden_size": 4096,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "intermediate_size": 14336, "vocab_size": 32768})");
  EXPECT_EQ(parse_hf_config(config, "config.json", "m").family, "mistral");
}

TEST(HfConfigReader, QuantizationConfigIsNoted) {
  const ModelSpec model = read_hf_config(fixture("awq-llama.json"));
  ASSERT_EQ(model.notes.size(), 1u);
  EXPECT_NE(model.notes[0].find("awq, 4 bits"), std::string::npos);
}

TEST(HfConfigReader, SyntaxErrorNamesLineAndColumn) {
  const ConfigError error = read_error("syntax-error.json");
  EXPECT_NE(error.file().find("syntax-error.json"), std::string::npos);
  EXPECT_EQ(error.line(), 5);
  EXPECT_GT(error.column(), 0);
}

TEST(HfConfigReader, MissingFieldIsNamed) {
  const ConfigError error = read_error("missing-hidden.json");
  EXPECT_EQ(error.pointer(), "/hidden_size");
  EXPECT_NE(error.message().find("missing"), std::string::npos);
}

TEST(HfConfigReader, WrongTypeIsNamed) {
  const ConfigError error = read_error("string-heads.json");
  EXPECT_EQ(error.pointer(), "/num_attention_heads");
  EXPECT_NE(error.message().find("expected a positive integer, got string \"32\""),
            std::string::npos);
}

TEST(HfConfigReader, UnknownArchitectureListsTheKnownOnes) {
  const ConfigError error = read_error("unknown-type.json");
  EXPECT_EQ(error.pointer(), "/model_type");
  EXPECT_NE(error.message().find("\"phi3\""), std::string::npos);
  EXPECT_NE(error.message().find("qwen2"), std::string::npos);
  EXPECT_NE(error.message().find("--layers"), std::string::npos);
}

TEST(HfConfigReader, KvHeadsMustDivideHeads) {
  const ConfigError error = read_error("bad-kv-heads.json");
  EXPECT_EQ(error.pointer(), "/num_key_value_heads");
  EXPECT_NE(error.message().find("does not divide num_attention_heads (32)"), std::string::npos);
}

TEST(HfConfigReader, MissingFileAndNonObject) {
  const ConfigError missing = read_error("no-such-config.json");
  EXPECT_EQ(missing.message(), "no such file");
  EXPECT_THROW(parse_hf_config(json::array(), "x.json", "x"), ConfigError);
}

TEST(HfConfigReader, TooManyActiveExperts) {
  const json config = json::parse(R"({"model_type": "mixtral", "hidden_size": 64,
    "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
    "vocab_size": 100, "num_local_experts": 2, "num_experts_per_tok": 3})");
  try {
    parse_hf_config(config, "config.json", "m");
    FAIL();
  } catch (const ConfigError& error) {
    EXPECT_EQ(error.pointer(), "/num_experts_per_tok");
  }
}

}  // namespace
}  // namespace lmf::planner::test
