// `lmforge config check` and `lmforge run` on the pipelines of tests/fixtures/pipelines, run
// against the fixture plugin; every output folder lies in a fresh temporary folder.
#include "tests/hosts/cli_support.h"

#include <nlohmann/json.hpp>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

std::vector<std::string> pipeline_command(const std::string& command, const std::string& file,
                                          std::vector<std::string> more = {}) {
  std::vector<std::string> args;
  if (command == "check")
    args = {"config", "check"};
  else
    args = {"run"};
  args.push_back(pipeline_fixture(file).string());
  args.insert(args.end(), {"--plugin-path", kPluginDir});
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(CliConfigCheck, GoodFile) {
  const CliResult result = run_lmforge(pipeline_command("check", "good.json"));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(
      result.err, pipeline_fixture("good.json").string() + ": valid (2 stages: plugins echo)"));
  EXPECT_TRUE(result.out.empty());
}

TEST(CliConfigCheck, PrintShowsTheDefaults) {
  const CliResult result = run_lmforge(pipeline_command("check", "good.json", {"--print"}));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const json document = json::parse(result.out);
  EXPECT_EQ(document["stages"][1]["config"], json::parse(R"({"greeting": "hi", "count": 3})"));
  EXPECT_EQ(document["stages"][0]["params"]["allow_load_failures"], false);
  EXPECT_FALSE(document.contains("include"));
}

TEST(CliConfigCheck, BadValueNamesTheFileAndThePointer) {
  const CliResult result = run_lmforge(pipeline_command("check", "includes_bad.json"));
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, pipeline_fixture("parts/bad_count_stages.json").string() +
                                       ": /stages/0/config/count: must be >= 1, got 0"));
}

TEST(CliConfigCheck, EveryIssueIsReported) {
  const CliResult result = run_lmforge(pipeline_command("check", "two_bad_stages.json"));
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, "/stages/0/config/count"));
  EXPECT_TRUE(Contains(result.err, "/stages/1/config"));
  EXPECT_TRUE(Contains(result.err, "\"colour\""));
}

TEST(CliConfigCheck, BadOverrideNamesTheSetOption) {
  const CliResult result =
      run_lmforge(pipeline_command("check", "good.json", {"--set", "stages.1.config.count=0"}));
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, "--set stages.1.config.count=0: /stages/1/config/count"));
}

TEST(CliConfigCheck, GoodOverride) {
  const CliResult result = run_lmforge(
      pipeline_command("check", "good.json", {"--set", "stages.1.config.count=5", "--print"}));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(json::parse(result.out)["stages"][1]["config"]["count"], 5);
}

TEST(CliConfigCheck, MissingFile) {
  const std::string missing = pipeline_fixture("no_such_pipeline.json").string();
  const CliResult result = run_lmforge({"config", "check", missing});
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, missing + ": file not found"));
}

TEST(CliConfigCheck, MissingComponentIsAPluginError) {
  // Without the fixture folder, the stage names a component that is not loaded.
  const CliResult result = run_lmforge({"config", "check", pipeline_fixture("good.json").string()});
  EXPECT_EQ(result.exit_code, 4) << describe(result);
  EXPECT_TRUE(Contains(result.err, "/stages/1/component: no backend named \"echo_stage\""));
}

TEST(CliRun, GoodPipeline) {
  TempDir temp;
  const fs::path output = temp.path() / "out";
  const CliResult result = run_lmforge(
      pipeline_command("run", "good.json", {"--set", "run.output_dir=" + output.string()}));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "Run \"fixture-good\":"));
  EXPECT_TRUE(Contains(result.out, "plugins"));
  EXPECT_TRUE(Contains(result.out, "\"greeting\":\"hi\""));
  EXPECT_TRUE(Contains(result.out, "Summary: " + (output / "summary.json").string()));
  EXPECT_TRUE(Contains(result.out, "Metrics: " + (output / "metrics.jsonl").string()));
  EXPECT_TRUE(Contains(result.err, "echo: hi x3"));  // the plugin's log line

  const json summary = json::parse(read_all(output / "summary.json"));
  EXPECT_EQ(summary["run"], "fixture-good");
  EXPECT_EQ(summary["outcome"], "completed");
  ASSERT_EQ(summary["stages"].size(), 2u);
  EXPECT_EQ(summary["stages"][1]["summary"]["config_seen"], "fixture-good");
  EXPECT_EQ(summary["stages"][1]["summary"]["params"], json::parse(R"({"topic": "tests"})"));
  EXPECT_TRUE(Contains(read_all(output / "metrics.jsonl"), "\"name\":\"echo/count\""));
}

TEST(CliRun, FailingStage) {
  TempDir temp;
  const CliResult result = run_lmforge(
      pipeline_command("run", "failing.json", {"--set", "run.output_dir=" + temp.path().string()}));
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_TRUE(Contains(result.out, "bad record at corpus.jsonl:7"));
  EXPECT_TRUE(Contains(result.err, "stage broken failed: "));
  EXPECT_TRUE(Contains(result.out, "skipped"));
  const json summary = json::parse(read_all(temp.path() / "summary.json"));
  EXPECT_EQ(summary["outcome"], "failed");
  EXPECT_EQ(summary["stages"][2]["status"], "skipped");
}

TEST(CliRun, InvalidPipelineRunsNothing) {
  TempDir temp;
  const fs::path output = temp.path() / "out";
  const CliResult result = run_lmforge(
      pipeline_command("run", "includes_bad.json", {"--set", "run.output_dir=" + output.string()}));
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, "/stages/0/config/count"));
  EXPECT_FALSE(fs::exists(output));
}

TEST(CliRun, MissingFile) {
  const std::string missing = pipeline_fixture("no_such_pipeline.json").string();
  const CliResult result = run_lmforge({"run", missing, "--plugin-path", kPluginDir});
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, missing));
}

}  // namespace
}  // namespace lmf::cli_test
