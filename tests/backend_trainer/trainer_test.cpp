// The training loop's behaviour on the tiny Llama fixture: the loss falls, the metrics
// and outputs are written, bad input and a diverging run stop with clear errors.
#include "trainer/train_checkpoint.h"
#include "trainer/train_config.h"
#include "trainer/trainer.h"
#include "trainer_test_support.h"

#include "tests/support/temp_dir.h"

namespace lmf::torch_backend::testing {
namespace {

using lmf::testing::TempDir;

using nlohmann::json;

json base_config(const std::filesystem::path& shards, const std::filesystem::path& output) {
  return {{"data", {{"shards", shards.string()}}}, {"output", output.string()}, {"seq_length", 16},
          {"micro_batch", 4}, {"max_steps", 30}, {"seed", 3}, {"optimizer", {{"lr", 3e-3}}},
          {"schedule", {{"type", "constant"}}}};
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST_F(TrainerTest, FullFineTuningLowersTheLossAndWritesModelCheckpointAndMetrics) {
  TempDir dir;
  write_random_shards(dir.path() / "shards", 3, 16, 1);  // 3 documents of a 16-id alphabet: learnable
  auto model = load_fixture("llama3_tiny");
  json summary = run_training(*model, TrainConfig::from_json(base_config(dir.path() / "shards", dir.path() / "out")));

  const auto& losses = services_.metrics["train/loss"];
  ASSERT_EQ(losses.size(), 30u);
  // Uniform over the fixture's 128 ids is ln 128 ≈ 4.85; ids below 16 are learnable to ≤ ln 16.
  EXPECT_GT(losses.front().second, 4.0);
  EXPECT_LT(losses.back().second, 2.9);
  EXPECT_EQ(summary["steps"], 30);
  EXPECT_TRUE(services_.metrics.count("eval/loss"));  // the validation split at the end
  EXPECT_TRUE(services_.metrics.count("train/lr"));
  EXPECT_TRUE(services_.metrics.count("train/grad_norm"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "model" / "model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "model" / "config.json"));
  std::optional<CheckpointInfo> last = latest_checkpoint(dir.path() / "out");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->progress.step, 30);

  // The saved model reloads and computes what the trained one does.
  auto reloaded = LoadedModel::load((dir.path() / "out" / "model").string(), LoadOptions{"cpu", "float32", false, ""});
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::arange(10, torch::kInt64).view({1, 10});
  torch::Tensor positions = torch::arange(10, torch::kInt64).view({1, 10});
  torch::Tensor a = model->decoder->logits(model->decoder->hidden_states(ids, {positions, {}, nullptr, 10}));
  torch::Tensor b = reloaded->decoder->logits(reloaded->decoder->hidden_states(ids, {positions, {}, nullptr, 10}));
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-6));
}

TEST_F(TrainerTest, LoraTrainsOnlyTheAdaptersAndSavesAPeftFolder) {
  TempDir dir;
  write_random_shards(dir.path() / "shards", 3, 16, 1);
  auto model = load_fixture("llama3_tiny");
  const torch::Tensor q_before = model->weights.at("model.layers.0.self_attn.q_proj.weight").clone();
  json config = base_config(dir.path() / "shards", dir.path() / "out");
  config["method"] = "lora";
  config["lora"] = {{"rank", 4}, {"alpha", 8}};
  config["merge_lora"] = true;
  config["optimizer"]["lr"] = 1e-2;
  json summary = run_training(*model, TrainConfig::from_json(config));

  const auto& losses = services_.metrics["train/loss"];
  EXPECT_LT(losses.back().second, losses.front().second - 0.5);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "adapter" / "adapter_config.json"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "adapter" / "adapter_model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "merged" / "model.safetensors"));
  // 2 layers × 7 projections × (A + B).
  EXPECT_EQ(read_tensor_file(dir.path() / "out" / "adapter" / "adapter_model.safetensors").size(), 28u);
  // Merging changed the base weight that the adapters trained on.
  EXPECT_FALSE(torch::equal(q_before, model->weights.at("model.layers.0.self_attn.q_proj.weight")));
}

TEST_F(TrainerTest, ANonFiniteLossStopsNamingTheStepAndKeepsTheLastGoodCheckpoint) {
  TempDir dir;
  write_random_shards(dir.path() / "shards", 10, 128, 2);
  auto model = load_fixture("llama3_tiny");
  json config = base_config(dir.path() / "shards", dir.path() / "out");
  config["save_every"] = 1;
  config["max_grad_norm"] = 0;
  config["optimizer"] = {{"lr", 1e30}, {"betas", {0.0, 0.0}}};  // the first update overflows the weights
  const std::string error = error_of([&] { run_training(*model, TrainConfig::from_json(config)); });
  EXPECT_NE(error.find("not finite at step 2"), std::string::npos) << error;
  EXPECT_NE(error.find("step-00000001"), std::string::npos) << error;
  std::optional<CheckpointInfo> last = latest_checkpoint(dir.path() / "out");
  ASSERT_TRUE(last);
  EXPECT_EQ(last->progress.step, 1);
  EXPECT_TRUE(std::filesystem::exists(last->folder / "model" / "model.safetensors"));
}

TEST_F(TrainerTest, ADatasetShorterThanOneBatchIsRefused) {
  TempDir dir;
  write_random_shards(dir.path() / "shards", 1, 128, 2);  // ≤ 60 tokens: 3 blocks of 16 at most
  auto model = load_fixture("llama3_tiny");
  json config = base_config(dir.path() / "shards", dir.path() / "out");
  config["micro_batch"] = 8;
  const std::string error = error_of([&] { run_training(*model, TrainConfig::from_json(config)); });
  EXPECT_NE(error.find("fewer than one optimizer step takes"), std::string::npos) << error;
}

TEST_F(TrainerTest, ShardsOfALargerVocabularyThanTheModelAreRefused) {
  TempDir dir;
  write_random_shards(dir.path() / "shards", 10, 1000, 2);
  auto model = load_fixture("llama3_tiny");
  const std::string error = error_of(
      [&] { run_training(*model, TrainConfig::from_json(base_config(dir.path() / "shards", dir.path() / "out"))); });
  EXPECT_NE(error.find("vocabulary of 1000"), std::string::npos) << error;
}

TEST_F(TrainerTest, AResumeWithOtherSettingsIsRefused) {
  TempDir dir;
  write_random_shards(dir.path() / "shards", 10, 128, 2);
  json config = base_config(dir.path() / "shards", dir.path() / "out");
  config["max_steps"] = 2;
  auto model = load_fixture("llama3_tiny");
  run_training(*model, TrainConfig::from_json(config));
  config["seq_length"] = 8;
  auto again = load_fixture("llama3_tiny");
  const std::string error = error_of([&] { run_training(*again, TrainConfig::from_json(config)); });
  EXPECT_NE(error.find("other settings"), std::string::npos) << error;
}

TEST(TrainConfigTest, ErrorsNameTheField) {
  const json good = {{"data", {{"shards", "s"}}}, {"output", "o"}};
  auto error = [&](json patch) {
    json config = good;
    config.merge_patch(patch);
    return error_of([&] { TrainConfig::from_json(config); });
  };
  EXPECT_NE(error({{"learning_rate", 1}}).find("\"learning_rate\" is not a field"), std::string::npos);
  EXPECT_NE(error({{"method", "qlora4"}}).find("\"method\""), std::string::npos);
  EXPECT_NE(error({{"micro_batch", 0}}).find("\"micro_batch\""), std::string::npos);
  EXPECT_NE(error({{"output", nullptr}}).find("\"output\" is missing"), std::string::npos);
  EXPECT_NE(error({{"objective", "sft"}}).find("reads JSON Lines"), std::string::npos);
  EXPECT_NE(error({{"lora", {{"rank", 4}}}}).find("method is \"full\""), std::string::npos);
  EXPECT_NE(error({{"data", {{"shards", "s"}, {"jsonl", "x"}}}}).find("both"), std::string::npos);
  EXPECT_EQ(TrainConfig::from_json(good).eval_data.split, "validation");
}

}  // namespace
}  // namespace lmf::torch_backend::testing
