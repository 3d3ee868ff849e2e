// `lmforge train` end to end through the torch backend plugin: a short run on random token
// shards, then the same command with more steps, which must resume; the training output's
// metrics.jsonl and report must cover both invocations, each step once.
#include "tests/hosts/cli_support.h"

#include "tests/hosts/random_shards.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

const std::string kModel = std::string(LMF_BACKEND_FIXTURES_DIR) + "/qwen2_tiny";
constexpr int64_t kVocab = 128;  // the fixture model's vocabulary

void write_shards(const fs::path& folder) { write_random_shards(folder, kVocab); }

class CliTrain : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef LMF_HAVE_TORCH_BACKEND
    GTEST_SKIP() << "the torch backend plugin is not built (no libtorch)";
#endif
    write_shards(dir_.path() / "shards");
    config_ = dir_.path() / "train.json";
    std::ofstream(config_) << json{
        {"model", kModel},
        {"load", {{"device", "cpu"}}},
        {"training",
         {{"data", {{"shards", (dir_.path() / "shards").string()}}},
          {"output", output().string()},
          {"seq_length", 16},
          {"micro_batch", 2},
          {"max_steps", 3},
          {"optimizer", {{"lr", 1e-3}}},
          {"schedule", {{"type", "constant"}}}}}}.dump();
  }

  fs::path output() const { return dir_.path() / "out"; }

  CliResult train(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"train", config_.string(), "--plugin-path", kPluginDir};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_lmforge(args);
  }

  // step → how many train/loss records the training output's metrics.jsonl has for it
  std::map<int64_t, int> loss_records() const {
    std::map<int64_t, int> steps;
    std::ifstream in(output() / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      const json record = json::parse(line);
      if (record["name"] == "train/loss") ++steps[record["step"].get<int64_t>()];
    }
    return steps;
  }

  TempDir dir_;
  fs::path config_;
};

TEST_F(CliTrain, AResumedRunContinuesTheMetricsAndTheReport) {
  CliResult first = train();
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_TRUE(fs::exists(output() / "logs" / "summary.json")) << "the invocation's run folder";
  EXPECT_TRUE(fs::exists(output() / "model" / "config.json"));
  EXPECT_EQ(loss_records(), (std::map<int64_t, int>{{1, 1}, {2, 1}, {3, 1}}));

  CliResult second = train({"--set", "training.max_steps=5"});
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE((second.out + second.err).find("resuming from"), std::string::npos) << describe(second);
  EXPECT_EQ(loss_records(), (std::map<int64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}}));

  std::ifstream summary_file(output() / "logs" / "summary.json");
  const json stage = json::parse(summary_file)["stages"][0]["summary"];
  EXPECT_EQ(stage["resumed_from_step"], 3);
  EXPECT_EQ(stage["steps"], 5);
  std::ifstream report(output() / "report.html");
  ASSERT_TRUE(report) << "report.html is written";
}

TEST_F(CliTrain, ARunFolderThatIsTheTrainingOutputIsRefusedBeforeTraining) {
  CliResult result = train({"--run-dir", output().string()});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE((result.out + result.err).find("training.output"), std::string::npos) << describe(result);
  EXPECT_FALSE(fs::exists(output() / "checkpoints")) << "nothing was trained";
}

}  // namespace
}  // namespace lmf::cli_test
