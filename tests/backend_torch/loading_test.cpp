// Loading and saving model folders: memory-mapped views, conversions, corrupt or
// mismatched checkpoints refused with the file and tensor named, and a saved folder that
// loads back to the same logits.
#include "backend_test_support.h"
#include "save_model.h"

#include "tests/support/temp_dir.h"

#include <filesystem>
#include <fstream>

namespace lmf::torch_backend::testing {
namespace {

namespace fs = std::filesystem;
using lmf::testing::TempDir;

// A copy of a fixture model folder that a test may damage.
fs::path copy_model(const TempDir& dir, const std::string& name) {
  fs::path to = dir.path() / name;
  fs::copy(fixture(name), to, fs::copy_options::recursive);
  fs::remove_all(to / "expected");
  return to;
}

std::string load_error(const fs::path& folder) {
  try {
    LoadOptions options;
    options.device = "cpu";
    LoadedModel::load(folder.string(), options);
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "(loaded)";
}

class Loading : public BackendTest {};

TEST_F(Loading, Fp32WeightsOnTheCpuAreViewsOfTheMappedFileNotCopies) {
  auto model = load_fixture("qwen2_tiny");
  checkpoint::SafetensorsReader file(fixture("qwen2_tiny") + "/model.safetensors");
  const checkpoint::TensorEntry& entry = file.at("model.embed_tokens.weight");
  const torch::Tensor& weight = model->weights.at("model.embed_tokens.weight");
  EXPECT_TRUE(torch::equal(weight, torch::from_blob(const_cast<std::byte*>(entry.data), entry.shape)));
  EXPECT_TRUE(model->weights.is_mapped("model.embed_tokens.weight"));
  EXPECT_EQ(model->weights.mapped_bytes(), model->weights.bytes());

  LoadOptions bf16;
  bf16.device = "cpu";
  bf16.dtype = "bfloat16";
  auto converted = LoadedModel::load(fixture("qwen2_tiny"), bf16);
  EXPECT_EQ(converted->weights.at("model.embed_tokens.weight").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(converted->decoder->dtype(), torch::kBFloat16);
  EXPECT_FALSE(converted->weights.is_mapped("model.embed_tokens.weight"));
  EXPECT_EQ(converted->weights.mapped_bytes(), 0u);
}

TEST_F(Loading, TiedEmbeddingsServeAsTheLmHead) {
  auto model = load_fixture("qwen2_tiny");
  EXPECT_FALSE(model->weights.contains("lm_head.weight"));
  EXPECT_TRUE(model->info()["tie_word_embeddings"].get<bool>());
}

TEST_F(Loading, ATruncatedSafetensorsFileIsRefusedNamingIt) {
  TempDir dir;
  fs::path model = copy_model(dir, "qwen2_tiny");
  fs::resize_file(model / "model.safetensors", fs::file_size(model / "model.safetensors") / 2);
  const std::string message = load_error(model);
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
}

TEST_F(Loading, AGarbledHeaderIsRefusedNamingTheFile) {
  TempDir dir;
  fs::path model = copy_model(dir, "llama3_tiny");
  {
    std::fstream file(model / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(8);
    file.write("#####", 5);
  }
  const std::string message = load_error(model);
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
}

TEST_F(Loading, AShapeThatContradictsConfigJsonNamesTheTensor) {
  TempDir dir;
  fs::path model = copy_model(dir, "llama3_tiny");
  std::ifstream in(model / "config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  in.close();
  config["intermediate_size"] = 128;
  std::ofstream(model / "config.json") << config.dump();
  const std::string message = load_error(model);
  EXPECT_NE(message.find("model.layers.0.mlp.gate_proj.weight has shape [96, 64]"), std::string::npos) << message;
  EXPECT_NE(message.find("[128, 64]"), std::string::npos) << message;
}

TEST_F(Loading, AMissingTensorIsNamed) {
  TempDir dir;
  fs::path model = copy_model(dir, "llama3_tiny");
  std::ifstream in(model / "config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  in.close();
  config["num_hidden_layers"] = 3;
  std::ofstream(model / "config.json") << config.dump();
  EXPECT_NE(load_error(model).find("no tensor model.layers.2."), std::string::npos);
}

TEST_F(Loading, AFolderWithoutConfigOrWeightsIsRefused) {
  TempDir dir;
  EXPECT_NE(load_error(dir.path() / "absent").find("not a folder"), std::string::npos);
  fs::path model = copy_model(dir, "llama3_tiny");
  fs::remove(model / "model.safetensors");
  EXPECT_NE(load_error(model).find(model.string()), std::string::npos);
  fs::remove(model / "config.json");
  EXPECT_NE(load_error(model).find("no config.json"), std::string::npos);
}

TEST_F(Loading, ASavedModelLoadsBackToTheSameLogits) {
  TempDir dir;
  auto model = load_fixture("llama2_tiny_sharded");
  save_model(*model, (dir.path() / "saved").string(), {{"max_shard_bytes", 100000}});
  EXPECT_TRUE(fs::exists(dir.path() / "saved" / "model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(dir.path() / "saved" / "generation_config.json"));
  EXPECT_FALSE(fs::exists(dir.path() / ("saved.partial-" + std::to_string(::getpid()))));
  auto reloaded = load_fixture("llama2_tiny_sharded");
  reloaded = [&] {
    LoadOptions options;
    options.device = "cpu";
    options.dtype = "float32";
    options.fused_attention = false;
    return LoadedModel::load((dir.path() / "saved").string(), options);
  }();
  torch::Tensor ids = expected_tensor("llama2_tiny_sharded", "input_ids");
  torch::Tensor positions = torch::arange(ids.size(1)).expand({ids.size(0), ids.size(1)});
  torch::NoGradGuard no_grad;
  auto logits = [&](LoadedModel& m) {
    return m.decoder->logits(m.decoder->hidden_states(ids, {positions, {}, nullptr, ids.size(1)}));
  };
  EXPECT_TRUE(torch::equal(logits(*model), logits(*reloaded)));
}

TEST_F(Loading, SavingInBf16WritesBf16AndSaysSoInConfigJson) {
  TempDir dir;
  auto model = load_fixture("qwen2_tiny");
  save_model(*model, (dir.path() / "bf16").string(), {{"dtype", "bfloat16"}});
  checkpoint::SafetensorsReader file(dir.path() / "bf16" / "model.safetensors");
  EXPECT_EQ(file.at("model.norm.weight").dtype, checkpoint::DType::BF16);
  EXPECT_EQ(file.find("lm_head.weight"), nullptr);  // tied: not saved, as transformers does
  std::ifstream in(dir.path() / "bf16" / "config.json");
  EXPECT_EQ(nlohmann::json::parse(in)["dtype"], "bfloat16");
}

TEST_F(Loading, SavingOverAnExistingFolderNeedsOverwrite) {
  TempDir dir;
  auto model = load_fixture("qwen2_tiny");
  fs::create_directories(dir.path() / "taken");
  std::ofstream(dir.path() / "taken" / "keep.txt") << "mine";
  EXPECT_THROW(save_model(*model, (dir.path() / "taken").string(), nlohmann::json::object()), sdk::Error);
  EXPECT_TRUE(fs::exists(dir.path() / "taken" / "keep.txt"));
  save_model(*model, (dir.path() / "taken").string(), {{"overwrite", true}});
  EXPECT_TRUE(fs::exists(dir.path() / "taken" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir.path() / "taken" / "keep.txt"));
}

}  // namespace
}  // namespace lmf::torch_backend::testing
