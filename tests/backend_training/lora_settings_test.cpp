// LoRA settings: the `lora` object of a training config, its errors by field, and which
// modules the targets name, following PEFT's rules (Note [LoRA target modules]).
#include "training/lora_settings.h"

#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cmath>

namespace lmf::torch_backend {
namespace {

using lmf::testing::Contains;
using nlohmann::json;

std::string error_of(const json& j) {
  try {
    LoraSettings::from_json(j, "lora");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(LoraSettings, ReadsEveryField) {
  const LoraSettings s = LoraSettings::from_json(json{{"rank", 4},
                                                      {"alpha", 32},
                                                      {"dropout", 0.05},
                                                      {"target_modules", {"q_proj", "v_proj"}},
                                                      {"use_rslora", true},
                                                      {"compute", "adapter"}},
                                                 "lora");
  EXPECT_EQ(s.rank, 4);
  EXPECT_EQ(s.alpha, 32);
  EXPECT_EQ(s.dropout, 0.05);
  EXPECT_EQ(s.target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_TRUE(s.target_regex.empty());
  EXPECT_TRUE(s.use_rslora);
  EXPECT_EQ(s.compute, "adapter");
}

TEST(LoraSettings, DefaultsAdaptEveryProjectionAtRankEight) {
  const LoraSettings s = LoraSettings::from_json(json::object(), "lora");
  EXPECT_EQ(s.rank, 8);
  EXPECT_EQ(s.alpha, 16);
  EXPECT_EQ(s.dropout, 0);
  EXPECT_EQ(s.target_modules, (std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj",
                                                        "gate_proj", "up_proj", "down_proj"}));
  EXPECT_FALSE(s.use_rslora);
  EXPECT_EQ(s.compute, "input");
}

TEST(LoraSettings, ScalingIsAlphaOverRankOrOverItsRootWithRsLora) {
  LoraSettings s;
  s.rank = 16;
  s.alpha = 8;
  EXPECT_DOUBLE_EQ(s.scaling(), 0.5);
  s.use_rslora = true;
  EXPECT_DOUBLE_EQ(s.scaling(), 2.0);
}

TEST(LoraSettings, ToJsonReadsBackTheSame) {
  LoraSettings s;
  s.rank = 2;
  s.alpha = 3.5;
  s.dropout = 0.25;
  s.target_modules = {"self_attn.q_proj"};
  s.use_rslora = true;
  s.compute = "adapter";
  EXPECT_EQ(s.to_json(), (json{{"rank", 2},
                               {"alpha", 3.5},
                               {"dropout", 0.25},
                               {"target_modules", {"self_attn.q_proj"}},
                               {"use_rslora", true},
                               {"compute", "adapter"}}));
  EXPECT_EQ(LoraSettings::from_json(s.to_json(), "lora").to_json(), s.to_json());

  LoraSettings pattern;
  pattern.target_modules.clear();
  pattern.target_regex = R"(.*\.mlp\..*)";
  EXPECT_EQ(pattern.to_json()["target_modules"], R"(.*\.mlp\..*)");
  EXPECT_EQ(LoraSettings::from_json(pattern.to_json(), "lora").target_regex, pattern.target_regex);
}

TEST(LoraSettings, ErrorsNameTheField) {
  EXPECT_TRUE(Contains(error_of({{"rank", 0}}), "lora.rank: must be an integer ≥ 1"));
  EXPECT_TRUE(Contains(error_of({{"rank", 2.5}}), "lora.rank: must be an integer ≥ 1"));
  EXPECT_TRUE(Contains(error_of({{"alpha", 0}}), "lora.alpha: must be a number > 0"));
  EXPECT_TRUE(Contains(error_of({{"alpha", "16"}}), "lora.alpha: must be a number > 0"));
  EXPECT_TRUE(Contains(error_of({{"dropout", 1.0}}), "lora.dropout: must be a number in [0, 1)"));
  EXPECT_TRUE(Contains(error_of({{"dropout", -0.1}}), "lora.dropout"));
  EXPECT_TRUE(Contains(error_of({{"use_rslora", 1}}), "lora.use_rslora: must be true or false"));
  EXPECT_TRUE(Contains(error_of({{"compute", "bf16"}}), "lora.compute: must be \"input\" or \"adapter\""));
  EXPECT_TRUE(Contains(error_of({{"target_modules", json::array()}}),
                       "lora.target_modules: must be a non-empty list"));
  EXPECT_TRUE(Contains(error_of({{"target_modules", {"q_proj", 3}}}),
                       "lora.target_modules: must hold module names"));
  EXPECT_TRUE(Contains(error_of({{"target_modules", "(q_proj"}}),
                       "lora.target_modules: \"(q_proj\" is not a regular expression"));
  EXPECT_TRUE(Contains(error_of({{"r", 8}}), "lora.r: is not a field here (known: rank, alpha"));
  EXPECT_TRUE(Contains(error_of(json::array()), "lora: must be an object"));
}

TEST(LoraSettings, AllLinearNamesTheSevenProjections) {
  const LoraSettings s = LoraSettings::from_json({{"target_modules", "all-linear"}}, "lora");
  EXPECT_TRUE(s.target_regex.empty());
  EXPECT_EQ(s.target_modules, kLoraAllLinear);
  EXPECT_TRUE(s.targets("model.layers.5.mlp.down_proj"));
}

// PEFT's check_target_module_exists: an entry equal to the whole name or to a dotted
// suffix of it; a string is a regular expression over the whole name.
TEST(LoraSettings, TargetsNameModulesAsPeftMatchesThem) {
  LoraSettings s;
  s.target_modules = {"q_proj", "layers.1.mlp.up_proj", "model.layers.0.self_attn.o_proj"};
  EXPECT_TRUE(s.targets("model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(s.targets("model.layers.7.self_attn.q_proj"));
  EXPECT_FALSE(s.targets("model.layers.0.self_attn.qq_proj"));  // a suffix, not a dotted one
  EXPECT_TRUE(s.targets("model.layers.1.mlp.up_proj"));
  EXPECT_FALSE(s.targets("model.layers.11.mlp.up_proj"));
  EXPECT_TRUE(s.targets("model.layers.0.self_attn.o_proj"));
  EXPECT_FALSE(s.targets("model.layers.1.self_attn.o_proj"));

  LoraSettings pattern =
      LoraSettings::from_json({{"target_modules", R"(.*\.0\.self_attn\.(q|v)_proj)"}}, "lora");
  EXPECT_TRUE(pattern.targets("model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(pattern.targets("model.layers.0.self_attn.v_proj"));
  EXPECT_FALSE(pattern.targets("model.layers.0.self_attn.k_proj"));
  EXPECT_FALSE(pattern.targets("model.layers.10.self_attn.q_proj"));
  // The whole name must match, as re.fullmatch.
  EXPECT_FALSE(LoraSettings::from_json({{"target_modules", "q_proj"}}, "lora")
                   .targets("model.layers.0.self_attn.q_proj"));
}

TEST(LoraSettings, UnmatchedTargetsAreTheEntriesThatNameNoModule) {
  const std::vector<std::string> modules = {"model.layers.0.self_attn.q_proj",
                                            "model.layers.0.mlp.up_proj"};
  LoraSettings s;
  s.target_modules = {"q_proj", "lm_head", "up_proj", "qkv_proj"};
  EXPECT_EQ(s.unmatched_targets(modules), (std::vector<std::string>{"lm_head", "qkv_proj"}));
  s.target_modules.clear();
  s.target_regex = ".*embed.*";
  EXPECT_EQ(s.unmatched_targets(modules), (std::vector<std::string>{".*embed.*"}));
  s.target_regex = ".*up_proj";
  EXPECT_TRUE(s.unmatched_targets(modules).empty());
}

}  // namespace
}  // namespace lmf::torch_backend
