// PEFT adapter folders (training/peft_folder.h): what save_peft writes, the round trip
// through load_peft, and the folders load_peft refuses, each named by file and field.
#include "lora_test_support.h"

#include "training/peft_folder.h"

#include <fstream>
#include <functional>
#include <map>
#include <set>

namespace lmf::torch_backend::testing {
namespace {

namespace fs = std::filesystem;
using lmf::testing::Contains;
using nlohmann::json;

LoraSettings rank4_alpha8_qv() {
  LoraSettings s;
  s.rank = 4;
  s.alpha = 8;
  s.target_modules = {"q_proj", "v_proj", "down_proj"};
  return s;
}

json read_json(const fs::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

void write_json(const fs::path& file, const json& value) {
  std::ofstream(file) << value.dump(2);
}

class PeftFolder : public BackendTest {
 protected:
  // An adapter saved by save_peft, with seeded non-zero weights.
  fs::path save_adapter(const std::string& name = "adapter") {
    auto model = load_model("qwen2_tiny", false);
    LoraAdapters adapters(*model, rank4_alpha8_qv(), 7);
    randomize_adapters(adapters, 11);
    const fs::path folder = dir_.path() / name;
    adapters.save_peft(folder.string(), "Qwen/Qwen2-tiny");
    return folder;
  }
  // The message load_peft gives for `folder`, checking that the model stayed unadapted.
  std::string load_error(const fs::path& folder) {
    auto model = load_model("qwen2_tiny", false);
    const std::string error = error_of([&] { LoraAdapters::load_peft(*model, folder.string()); });
    model->decoder->for_each_linear([](const std::string& name, Linear& linear) {
      EXPECT_EQ(linear.adapter, nullptr) << name << " adapted by a refused folder";
    });
    return error;
  }
  void edit_config(const fs::path& folder, const std::function<void(json&)>& edit) {
    json config = read_json(folder / kPeftConfigFile);
    edit(config);
    write_json(folder / kPeftConfigFile, config);
  }
  void edit_tensors(const fs::path& folder,
                    const std::function<void(std::map<std::string, torch::Tensor>&)>& edit) {
    std::map<std::string, torch::Tensor> tensors = read_tensor_file(folder / kPeftWeightsFile);
    edit(tensors);
    write_tensor_file(folder / kPeftWeightsFile, NamedTensors(tensors.begin(), tensors.end()));
  }

  lmf::testing::TempDir dir_{"lmf_peft_folder"};
};

TEST_F(PeftFolder, SaveWritesTheConfigPeftWrites) {
  const fs::path folder = save_adapter();
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder))
    files.insert(entry.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{"adapter_config.json", "adapter_model.safetensors"}));
  const json config = read_json(folder / "adapter_config.json");
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["task_type"], "CAUSAL_LM");
  EXPECT_EQ(config["r"], 4);
  EXPECT_TRUE(config["lora_alpha"].is_number_integer());
  EXPECT_EQ(config["lora_alpha"], 8);
  EXPECT_EQ(config["lora_dropout"], 0.0);
  EXPECT_EQ(config["target_modules"], (json{"q_proj", "v_proj", "down_proj"}));
  EXPECT_EQ(config["bias"], "none");
  EXPECT_EQ(config["use_rslora"], false);
  EXPECT_EQ(config["use_dora"], false);
  EXPECT_EQ(config["fan_in_fan_out"], false);
  EXPECT_EQ(config["inference_mode"], true);
  EXPECT_EQ(config["modules_to_save"], nullptr);
  EXPECT_EQ(config["base_model_name_or_path"], "Qwen/Qwen2-tiny");
}

TEST_F(PeftFolder, SaveWritesTheTensorsByPeftNames) {
  const fs::path folder = save_adapter();
  checkpoint::SafetensorsReader file(folder / "adapter_model.safetensors");
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  std::set<std::string> names;
  for (const checkpoint::TensorEntry& entry : file.tensors()) {
    names.insert(entry.name);
    EXPECT_EQ(entry.dtype, checkpoint::DType::F32) << entry.name;
  }
  EXPECT_EQ(names.size(), 2u * 3 * 2);
  EXPECT_TRUE(names.count("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"));
  const checkpoint::TensorEntry& a =
      file.at("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{4, 96}));
  const checkpoint::TensorEntry& b =
      file.at("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight");
  EXPECT_EQ(b.shape, (std::vector<int64_t>{32, 4}));
}

TEST_F(PeftFolder, LoadGivesBackTheSavedAdapters) {
  const torch::Tensor ids = token_batch(1);
  auto original = load_model("qwen2_tiny", false);
  LoraAdapters saved(*original, rank4_alpha8_qv(), 7);
  randomize_adapters(saved, 11);
  saved.save_peft((dir_.path() / "adapter").string(), "base");

  auto model = load_model("qwen2_tiny", /*fused=*/true);
  LoraAdapters loaded = LoraAdapters::load_peft(*model, (dir_.path() / "adapter").string());
  nlohmann::json want_settings = saved.settings().to_json();
  want_settings["compute"] = "adapter";  // loaded from PEFT, it computes as PEFT does
  EXPECT_EQ(loaded.settings().to_json(), want_settings);
  const NamedTensors want = saved.parameters(), got = loaded.parameters();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_TRUE(torch::equal(got[i].second, want[i].second)) << got[i].first;
    EXPECT_TRUE(got[i].second.requires_grad());
  }
  EXPECT_LE(relative_error(logits_without_grad(*model, ids), logits_without_grad(*original, ids)),
            1e-5);
}

TEST_F(PeftFolder, SaveReplacesAnEarlierAdapterButNoOtherFolder) {
  const fs::path folder = save_adapter();
  auto model = load_model("qwen2_tiny", false);
  LoraAdapters adapters(*model, rank4_alpha8_qv(), 7);
  randomize_adapters(adapters, 99);
  adapters.save_peft(folder.string(), "base");
  auto reloaded = load_model("qwen2_tiny", false);
  LoraAdapters loaded = LoraAdapters::load_peft(*reloaded, folder.string());
  EXPECT_TRUE(torch::equal(loaded.parameters()[0].second, adapters.parameters()[0].second));

  fs::create_directories(dir_.path() / "other");
  std::ofstream(dir_.path() / "other" / "notes.txt") << "mine";
  EXPECT_TRUE(
      Contains(error_of([&] { adapters.save_peft((dir_.path() / "other").string(), "base"); }),
               "holds notes.txt, which is not an adapter's file"));
  EXPECT_TRUE(fs::exists(dir_.path() / "other" / "notes.txt"));
}

TEST_F(PeftFolder, MissingFilesAreNamed) {
  EXPECT_TRUE(
      Contains(load_error(dir_.path() / "nothing"), "nothing/adapter_config.json: missing"));
  const fs::path folder = save_adapter();
  fs::remove(folder / "adapter_model.safetensors");
  EXPECT_TRUE(Contains(load_error(folder), "adapter_model.safetensors: missing"));
  std::ofstream(folder / "adapter_model.bin") << "pickle";
  EXPECT_TRUE(Contains(load_error(folder), "safe_serialization=True"));
}

TEST_F(PeftFolder, ConfigErrorsNameTheFileAndField) {
  struct Case {
    const char* field;
    json value;
    const char* message;
  };
  const Case cases[] = {
      {"peft_type", "IA3",
       "adapter_config.json: peft_type: is \"IA3\"; only LORA adapters load here"},
      {"bias", "all", "adapter_config.json: bias: is \"all\"; only \"none\" is supported"},
      {"use_dora", true, "adapter_config.json: use_dora: true asks for DoRA"},
      {"rank_pattern",
       {{"q_proj", 8}},
       "adapter_config.json: rank_pattern: {\"q_proj\":8} asks for per-module ranks"},
      {"modules_to_save", {"lm_head"}, "adapter_config.json: modules_to_save"},
      {"fan_in_fan_out", true, "adapter_config.json: fan_in_fan_out"},
      {"task_type", "SEQ_CLS", "adapter_config.json: task_type: is \"SEQ_CLS\""},
      {"init_lora_weights", "pissa_niter_4",
       "adapter_config.json: init_lora_weights: \"pissa_niter_4\" changes the base"},
      {"r", 0, "adapter_config.json: r: must be an integer ≥ 1"},
      {"r", nullptr, "adapter_config.json: r: missing"},
      {"lora_alpha", "8", "adapter_config.json: lora_alpha: must be a number > 0"},
      {"target_modules", json::array(),
       "adapter_config.json: target_modules: must be a non-empty list"},
      {"target_modules",
       {"q_proj", "lm_head"},
       "adapter_config.json: target_modules: \"lm_head\" names no projection"},
  };
  for (const Case& c : cases) {
    const fs::path folder = save_adapter(std::string("case_") + c.field);
    edit_config(folder, [&](json& config) { config[c.field] = c.value; });
    EXPECT_TRUE(Contains(load_error(folder), c.message)) << c.field << " = " << c.value.dump();
  }
  const fs::path folder = save_adapter("not_json");
  std::ofstream(folder / "adapter_config.json") << "{\"r\": 4,";
  EXPECT_TRUE(Contains(load_error(folder), "adapter_config.json: not valid JSON"));
}

// Fields PEFT versions add that only describe how the adapter was made are ignored.
TEST_F(PeftFolder, DescriptiveFieldsOfOtherPeftVersionsAreIgnored) {
  const fs::path folder = save_adapter();
  edit_config(folder, [](json& config) {
    config["peft_version"] = "0.99.0";
    config["revision"] = "main";
    config["eva_config"] = {{"rho", 2.0}};
    config.erase("corda_config");
  });
  auto model = load_model("qwen2_tiny", false);
  EXPECT_EQ(LoraAdapters::load_peft(*model, folder.string()).parameters().size(), 12u);
}

TEST_F(PeftFolder, TensorErrorsNameTheFileAndTensor) {
  const std::string a = "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight";
  {
    const fs::path folder = save_adapter("missing_tensor");
    edit_tensors(folder, [&](auto& tensors) { tensors.erase(a); });
    EXPECT_TRUE(Contains(load_error(folder), "adapter_model.safetensors: has no tensor " + a));
  }
  {
    const fs::path folder = save_adapter("wrong_rank");
    edit_config(folder, [](json& config) { config["r"] = 8; });
    EXPECT_TRUE(Contains(load_error(folder),
                         "tensor base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight "
                         "has shape [4, 64] but r = 8 and the model's "
                         "model.layers.0.self_attn.q_proj imply [8, 64]"));
  }
  {
    const fs::path folder = save_adapter("extra_tensor");
    const std::string extra = "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight";
    edit_tensors(folder, [&](auto& tensors) { tensors[extra] = torch::zeros({4, 64}); });
    EXPECT_TRUE(Contains(load_error(folder),
                         "adapter_model.safetensors: tensor " + extra + " adapts no projection"));
  }
  {
    const fs::path folder = save_adapter("truncated");
    fs::resize_file(folder / "adapter_model.safetensors", 100);
    EXPECT_TRUE(Contains(load_error(folder), "adapter_model.safetensors"));
  }
}

}  // namespace
}  // namespace lmf::torch_backend::testing
