// The model stages and `lmforge generate|eval` end to end: the torch backend plugin loads a
// fixture model (tests/fixtures/backend, made with transformers) through the ABI and must
// reproduce transformers' greedy tokens and perplexity. The fixture plugin's byte_tokenizer
// maps text to ids (a byte per id), so a prompt of bytes is a prompt of known ids.
#include "tests/hosts/cli_support.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

const std::string kModel = std::string(LMF_BACKEND_FIXTURES_DIR) + "/qwen2_tiny";

json expected() {
  std::ifstream in(kModel + "/expected/expected.json");
  return json::parse(in);
}

class CliModel : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef LMF_HAVE_TORCH_BACKEND
    GTEST_SKIP() << "the torch backend plugin is not built (no libtorch)";
#endif
  }

  // Runs a one-stage pipeline file; returns the stage's summary from summary.json.
  json run_stage(const json& stage, CliResult& result) {
    const fs::path file = dir_.path() / "pipeline.json";
    std::ofstream(file) << json{{"run", {{"name", "t"}, {"output_dir", (dir_.path() / "run").string()}}},
                                {"stages", {stage}}}.dump();
    result = run_lmforge({"run", file.string(), "--plugin-path", kPluginDir});
    std::ifstream in(dir_.path() / "run" / "summary.json");
    if (!in) return json();
    return json::parse(in)["stages"][0]["summary"];
  }

  TempDir dir_;
};

TEST_F(CliModel, GenerateStageReproducesTransformersGreedyTokens) {
  // transformers' first greedy case has the one-token prompt [11]: the byte "\v".
  const json want = expected()["greedy"][0];
  ASSERT_EQ(want["prompt"], json::array({11}));
  const fs::path output = dir_.path() / "completions.jsonl";
  CliResult result;
  run_stage({{"name", "gen"}, {"builtin", "model.generate"},
             {"params", {{"model", kModel}, {"load", {{"device", "cpu"}, {"fused_attention", false}}},
                         {"tokenizer", {{"component", "byte_tokenizer"}}},
                         {"add_special_tokens", false}, {"prompts", {"\v"}},
                         {"sampling", {{"max_new_tokens", 24}}}, {"output", output.string()}}}},
            result);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  std::ifstream in(output);
  std::string line;
  ASSERT_TRUE(std::getline(in, line)) << describe(result);
  const json completion = json::parse(line);
  EXPECT_EQ(completion["ids"], want["output"]);
  EXPECT_EQ(completion["prompt_tokens"], 1);
  EXPECT_EQ(completion["finish_reason"], "length");
}

TEST_F(CliModel, EvaluateStageReproducesTransformersPerplexity) {
  const json want = expected()["perplexity"];
  CliResult result;
  const json summary = run_stage(
      {{"name", "ppl"}, {"builtin", "model.evaluate"},
       {"params", {{"model", kModel}, {"load", {{"device", "cpu"}, {"fused_attention", false}}},
                   {"tokenizer", {{"component", "byte_tokenizer"}}},
                   {"request", {{"task", "perplexity"}, {"ids", want["ids"]}, {"max_length", want["max_length"]},
                                {"stride", want["stride"]}}}}}},
      result);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(summary["scored_tokens"], want["scored_tokens"]);
  EXPECT_NEAR(summary["perplexity"].get<double>(), want["perplexity"].get<double>(),
              1e-4 * want["perplexity"].get<double>());
  EXPECT_TRUE(Contains(result.out, "perplexity"));
}

TEST_F(CliModel, GenerateRefusesAMissingModelFolderNamingIt) {
  const CliResult result = run_lmforge({"generate", (dir_.path() / "nowhere").string(), "-p", "hi"});
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_TRUE(Contains(result.out + result.err, "nowhere"));
}

TEST_F(CliModel, GenerateRefusesAnInvalidSamplingValueNamingIt) {
  CliResult result;
  run_stage({{"name", "gen"}, {"builtin", "model.generate"},
             {"params", {{"model", kModel}, {"load", {{"device", "cpu"}}},
                         {"tokenizer", {{"component", "byte_tokenizer"}}}, {"add_special_tokens", false},
                         {"prompts", {"a"}}, {"sampling", {{"top_p", 2}}}}}},
            result);
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_TRUE(Contains(result.out + result.err, "sampling.top_p"));
}

TEST_F(CliModel, EvalNeedsExactlyOneSource) {
  const CliResult result = run_lmforge({"eval", kModel});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "exactly one of --shards, --jsonl, --text"));
}

}  // namespace
}  // namespace lmf::cli_test
