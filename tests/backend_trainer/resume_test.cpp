// A training run interrupted and resumed from its checkpoint ends with exactly the
// weights of the same run done in one go (issue 6: "resume continues bit-for-bit").
#include "trainer/train_config.h"
#include "trainer/trainer.h"
#include "trainer_test_support.h"

#include "tests/support/temp_dir.h"

namespace lmf::torch_backend::testing {
namespace {

using lmf::testing::TempDir;

using nlohmann::json;

json run_config(const std::filesystem::path& shards, const std::filesystem::path& output, const std::string& method) {
  json config = {{"method", method},
                 {"data", {{"shards", shards.string()}}},
                 {"output", output.string()},
                 {"seq_length", 16},
                 {"micro_batch", 2},
                 {"gradient_accumulation", 2},
                 {"max_steps", 6},
                 {"save_every", 2},
                 {"eval_every", 3},
                 {"seed", 11},
                 {"optimizer", {{"lr", 1e-3}, {"weight_decay", 0.1}}},
                 {"schedule", {{"type", "cosine"}, {"warmup_steps", 2}}}};
  if (method == "lora") config["lora"] = {{"rank", 4}, {"alpha", 8}, {"dropout", 0.1}};
  return config;
}

std::map<std::string, torch::Tensor> trained_tensors(LoadedModel& model) {
  std::map<std::string, torch::Tensor> out;
  for (const std::string& name : model.weights.names()) out[name] = model.weights.at(name).detach().clone();
  return out;
}

class ResumeTest : public TrainerTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(ResumeTest, InterruptedAndResumedRunEndsWithTheSameWeightsAsAnUninterruptedOne) {
  TempDir dir;
  write_random_shards(dir.path() / "shards", 40, 128, 5);
  const std::string method = GetParam();

  auto straight = load_fixture("llama3_tiny");
  json summary = run_training(*straight, TrainConfig::from_json(run_config(dir.path() / "shards", dir.path() / "a", method)));
  EXPECT_EQ(summary["steps"], 6);
  const auto expected_metrics = services_.metrics["train/loss"];

  services_.metrics.clear();
  services_.cancel_after_step = 3;  // a checkpoint is written at the cancellation
  const TrainConfig config = TrainConfig::from_json(run_config(dir.path() / "shards", dir.path() / "b", method));
  auto first = load_fixture("llama3_tiny");
  try {
    run_training(*first, config);
    FAIL() << "the run was not cancelled";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LMF_ERR_CANCELLED);
    EXPECT_NE(std::string(e.what()).find("step 3"), std::string::npos) << e.what();
  }
  services_.cancel_after_step = -1;
  services_.reset_cancel();
  auto resumed = load_fixture("llama3_tiny");
  json resumed_summary = run_training(*resumed, config);
  EXPECT_NE(resumed_summary.value("resumed_from", ""), "");
  EXPECT_EQ(resumed_summary["steps"], 6);

  // The losses of the steps after the resumption are the uninterrupted run's.
  const auto& after = services_.metrics["train/loss"];
  ASSERT_EQ(after.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(after[i].second, expected_metrics[i].second) << "step " << after[i].first;

  // And so are the weights, bit for bit (LoRA: compare the merged effect through the
  // saved adapters instead of the frozen base).
  if (method == "full") {
    auto a = trained_tensors(*straight), b = trained_tensors(*resumed);
    for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  } else {
    auto a = read_tensor_file(dir.path() / "a" / "adapter" / "adapter_model.safetensors");
    auto b = read_tensor_file(dir.path() / "b" / "adapter" / "adapter_model.safetensors");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, ResumeTest, ::testing::Values("full", "lora"));

}  // namespace
}  // namespace lmf::torch_backend::testing
