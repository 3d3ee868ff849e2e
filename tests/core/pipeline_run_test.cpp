// run_pipeline: stages run in order against the fixture plugin (tests/hosts/fixtures), with
// summaries, metrics, failures and cancellation as the user sees them.
#include "core/config/compose.h"
#include "tests/support/temp_dir.h"
#include "core/pipeline/host_session.h"
#include "core/pipeline/pipeline.h"
#include "core/pipeline/runner.h"
#include "core/plugin/component_instance.h"
#include "core/services/cancellation.h"
#include "tests/support/recording_services.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef LMF_TEST_FIXTURES_DIR
#error "LMF_TEST_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif
#ifndef LMF_TEST_PLUGIN_DIR
#error "LMF_TEST_PLUGIN_DIR must name the folder of the lmforge-test-stages plugin"
#endif

namespace lmf::pipeline {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path fixture(const std::string& relative) {
  return fs::path(LMF_TEST_FIXTURES_DIR) / "pipelines" / relative;
}

using lmf::testing::Contains;

// A configuration written in the test, as if read from "inline.json".
config::ComposedConfig inline_config(json document) {
  config::ComposedConfig composed;
  composed.document = std::move(document);
  composed.record_origin("", "inline.json");
  return composed;
}

std::vector<std::string> statuses(const RunResult& result) {
  std::vector<std::string> list;
  for (const StageResult& stage : result.stages) list.push_back(stage.name + ":" + stage.status);
  return list;
}

using lmf::testing::TempDir;

// The process-wide cancellation flag is shared by every test in this executable: each test
// starts and ends with it cleared.
class PipelineRun : public ::testing::Test {
 protected:
  void SetUp() override {
    services::Cancellation::process().reset();
    std::vector<plugin::LoadFailure> failures =
        session.registry().load_directories({LMF_TEST_PLUGIN_DIR});
    for (const plugin::LoadFailure& failure : failures) ADD_FAILURE() << failure.message;
    ASSERT_NE(session.registry().find_plugin("lmforge-test-stages"), nullptr)
        << "no fixture plugin in " << LMF_TEST_PLUGIN_DIR;
  }
  void TearDown() override { services::Cancellation::process().reset(); }

  RunResult run(config::ComposedConfig composed) {
    const Pipeline pipeline = prepare_pipeline(std::move(composed), session.registry());
    return run_pipeline(pipeline, session.registry(), session.services());
  }
  RunResult run_file(const std::string& name) { return run(config::load_config(fixture(name))); }

  std::ostringstream terminal;
  HostSession session{terminal, false, services::LogLevel::debug};
};

TEST_F(PipelineRun, StagesRunInOrderWithTheirSummaries) {
  const RunResult result = run_file("good.json");
  EXPECT_EQ(result.outcome, RunOutcome::completed);
  EXPECT_EQ(statuses(result), (std::vector<std::string>{"plugins:completed", "echo:completed"}));

  const json& plugins = result.stages[0].summary["plugins"];
  ASSERT_EQ(plugins.size(), 1u);
  EXPECT_EQ(plugins[0]["name"], "lmforge-test-stages");
  EXPECT_EQ(result.stages[0].summary["components"]["data_source"], json::array({"bad_report_source", "list_source", "quiet_source"}));

  // The component's summary: its validated config, the stage's params, and the composed
  // configuration read back through the host's config_get.
  EXPECT_EQ(result.stages[1].summary, json::parse(R"({"greeting": "hi", "count": 3,
      "params": {"topic": "tests"}, "config_seen": "fixture-good"})"));
  EXPECT_TRUE(result.stages[1].error.empty());
  EXPECT_GE(result.stages[1].seconds, 0.0);

  // Without an output folder nothing is written.
  EXPECT_FALSE(result.summary_file.has_value());
  EXPECT_FALSE(result.metrics_file.has_value());

  const std::string logs = terminal.str();
  EXPECT_TRUE(Contains(logs, "stage 1/2: plugins"));
  EXPECT_TRUE(Contains(logs, "stage 2/2: echo"));
  EXPECT_TRUE(Contains(logs, "lmforge-test-stages: echo: hi x3"));
}

TEST_F(PipelineRun, OutputFolderGetsSummaryAndMetrics) {
  TempDir temp;
  const fs::path output = temp.path() / "runs" / "good";
  config::ComposedConfig composed = config::load_config(fixture("good.json"));
  config::apply_override(composed, "run.output_dir=" + output.string());
  const RunResult result = run(std::move(composed));
  ASSERT_EQ(result.outcome, RunOutcome::completed);

  ASSERT_TRUE(result.summary_file.has_value());
  EXPECT_EQ(*result.summary_file, output / "summary.json");
  std::ifstream summary_in(*result.summary_file);
  const json summary = json::parse(summary_in);
  EXPECT_EQ(summary["run"], "fixture-good");
  EXPECT_EQ(summary["outcome"], "completed");
  ASSERT_EQ(summary["stages"].size(), 2u);
  EXPECT_EQ(summary["stages"][0]["name"], "plugins");
  EXPECT_EQ(summary["stages"][1]["name"], "echo");
  EXPECT_EQ(summary["stages"][1]["status"], "completed");
  EXPECT_EQ(summary["stages"][1]["summary"], result.stages[1].summary);
  EXPECT_FALSE(summary["stages"][1].contains("error"));
  EXPECT_FALSE(fs::exists(output / "summary.json.tmp"));

  ASSERT_TRUE(result.metrics_file.has_value());
  EXPECT_EQ(*result.metrics_file, output / "metrics.jsonl");
  std::ifstream metrics_in(*result.metrics_file);
  std::vector<json> records;
  for (std::string line; std::getline(metrics_in, line);) {
    json record = json::parse(line, nullptr, false);
    ASSERT_FALSE(record.is_discarded()) << "not a JSON line: " << line;
    records.push_back(record);
  }
  auto find = [&](const std::string& name) -> json {
    for (const json& record : records)
      if (record["name"] == name) return record;
    ADD_FAILURE() << "no metric " << name << " in " << *result.metrics_file;
    return json::object();
  };
  EXPECT_EQ(find("stage/plugins/seconds")["source"], "host");
  EXPECT_EQ(find("stage/plugins/seconds")["step"], 0);
  EXPECT_EQ(find("stage/echo/seconds")["source"], "host");
  EXPECT_EQ(find("stage/echo/seconds")["step"], 1);
  const json echo_count = find("echo/count");
  EXPECT_EQ(echo_count["source"], "lmforge-test-stages");
  EXPECT_EQ(echo_count["value"], 3.0);
}

TEST_F(PipelineRun, RunAlarmsOverrideTheSeedsThresholds) {
  config::ComposedConfig composed = config::load_config(fixture("good.json"));
  config::apply_override(composed, R"(run.alarms={"echo/count": {"max": 2}})");
  const RunResult result = run(std::move(composed));
  ASSERT_EQ(result.outcome, RunOutcome::completed);
  // The echo stage records echo/count = 3.
  EXPECT_TRUE(Contains(terminal.str(), "echo/count is 3 at step")) << terminal.str();

  config::ComposedConfig wrong = config::load_config(fixture("good.json"));
  config::apply_override(wrong, R"(run.alarms={"echo/count": {"maximum": 2}})");
  try {
    prepare_pipeline(std::move(wrong), session.registry());
    FAIL() << "an alarm rule with an unknown field was accepted";
  } catch (const PipelineInvalid& e) {
    EXPECT_TRUE(Contains(e.what(), "/run/alarms")) << e.what();
  }
}

TEST_F(PipelineRun, FailingStageStopsTheRun) {
  TempDir temp;
  config::ComposedConfig composed = config::load_config(fixture("failing.json"));
  config::apply_override(composed, "run.output_dir=" + temp.path().string());
  const RunResult result = run(std::move(composed));
  EXPECT_EQ(result.outcome, RunOutcome::failed);
  EXPECT_EQ(statuses(result),
            (std::vector<std::string>{"first:completed", "broken:failed", "after:skipped"}));
  EXPECT_TRUE(Contains(result.stages[1].error, "bad record at corpus.jsonl:7"));
  EXPECT_TRUE(Contains(result.stages[1].error, "backend \"fail_stage\""));
  EXPECT_TRUE(result.stages[2].error.empty());
  EXPECT_TRUE(Contains(terminal.str(), "stage broken failed: "));

  // The summary is written for a failed run too: it says what went wrong.
  ASSERT_TRUE(result.summary_file.has_value());
  std::ifstream summary_in(*result.summary_file);
  const json summary = json::parse(summary_in);
  EXPECT_EQ(summary["outcome"], "failed");
  EXPECT_EQ(summary["stages"][1]["error"], result.stages[1].error);
  EXPECT_EQ(summary["stages"][2]["status"], "skipped");
}

TEST_F(PipelineRun, CancelledBeforeTheRunSkipsEveryStage) {
  services::Cancellation::process().request();
  const RunResult result = run_file("cancel.json");
  EXPECT_EQ(result.outcome, RunOutcome::cancelled);
  EXPECT_EQ(statuses(result),
            (std::vector<std::string>{"first:skipped", "wait:skipped", "after:skipped"}));
  EXPECT_EQ(result.to_json()["outcome"], "cancelled");
}

// Requests cancellation when the fixture's cancel_stage says it is waiting for it, so the
// stage observes it while it runs.
class CancellingServices : public RunServices {
 public:
  using RunServices::RunServices;
  void log(lmf_log_level level, std::string_view source, std::string_view message) override {
    RunServices::log(level, source, message);
    if (message == "waiting for cancellation") services::Cancellation::process().request();
  }
};

TEST(PipelineRunCancel, CancelledDuringAStageSkipsTheRest) {
  services::Cancellation& cancellation = services::Cancellation::process();
  cancellation.reset();
  std::ostringstream terminal;
  services::Logger logger(terminal, services::LogLevel::debug);
  services::ProgressBoard progress(terminal);
  CancellingServices services(logger, progress, cancellation);
  plugin::PluginRegistry registry(services);
  ASSERT_TRUE(registry.load_directories({LMF_TEST_PLUGIN_DIR}).empty());

  const Pipeline pipeline = prepare_pipeline(config::load_config(fixture("cancel.json")), registry);
  const RunResult result = run_pipeline(pipeline, registry, services);
  cancellation.reset();

  EXPECT_EQ(result.outcome, RunOutcome::cancelled);
  EXPECT_EQ(statuses(result),
            (std::vector<std::string>{"first:completed", "wait:cancelled", "after:skipped"}));
  EXPECT_TRUE(Contains(result.stages[1].error, "cancelled"));
}

TEST_F(PipelineRun, PluginsCheckNamesTheMissingComponent) {
  const RunResult result = run(inline_config(
      json::parse(R"({"stages": [{"name": "plugins", "builtin": "plugins.check", "params": {
          "require": [{"kind": "backend", "name": "echo_stage"},
                      {"kind": "tokenizer", "name": "bpe"}]}}]})")));
  EXPECT_EQ(result.outcome, RunOutcome::failed);
  ASSERT_EQ(result.stages.size(), 1u);
  EXPECT_EQ(result.stages[0].status, "failed");
  EXPECT_TRUE(Contains(result.stages[0].error, "the plugin set is incomplete"));
  EXPECT_TRUE(Contains(result.stages[0].error, "no tokenizer named \"bpe\""));
  EXPECT_FALSE(Contains(result.stages[0].error, "echo_stage"));
}

TEST_F(PipelineRun, PluginsCheckFailsOnARefusedPluginUnlessAllowed) {
  const fs::path missing = fs::path(LMF_TEST_PLUGIN_DIR) / "no_such_plugin.so";
  EXPECT_THROW(session.registry().load_file(missing), plugin::PluginError);
  const RunResult strict = run(inline_config(
      json::parse(R"({"stages": [{"name": "strict", "builtin": "plugins.check"}]})")));
  EXPECT_EQ(strict.outcome, RunOutcome::failed);
  EXPECT_TRUE(Contains(strict.stages[0].error, missing.string()));

  const RunResult lenient = run(inline_config(json::parse(R"({"stages": [{"name": "lenient",
      "builtin": "plugins.check", "params": {"allow_load_failures": true}}]})")));
  EXPECT_EQ(lenient.outcome, RunOutcome::completed);
  EXPECT_EQ(lenient.stages[0].summary["load_failures"].size(), 1u);
}

// The fixture's stages against a recording host: what a plugin reaches through the host API.
class PipelineStagePlugin : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(registry.load_directories({LMF_TEST_PLUGIN_DIR}).empty()); }
  plugin::ComponentInstance instance(const std::string& name, const json& config) {
    return plugin::ComponentInstance(registry.require(LMF_KIND_BACKEND, name), config);
  }

  lmf::testing::RecordingServices recording;
  plugin::PluginRegistry registry{recording};
};

TEST_F(PipelineStagePlugin, EchoReportsThroughTheHost) {
  recording.config = {{"run", {{"name", "recorded"}}}};
  const json summary = instance("echo_stage", {{"greeting", "yo"}, {"count", 2}})
                           .run_stage({{"name", "echo"}, {"params", {{"n", 1}}}});
  EXPECT_EQ(summary, json::parse(R"({"greeting": "yo", "count": 2, "params": {"n": 1},
      "config_seen": "recorded"})"));
  EXPECT_TRUE(recording.logged("echo: yo x2"));
  ASSERT_EQ(recording.metrics.size(), 1u);
  EXPECT_EQ(recording.metrics[0].source, "lmforge-test-stages");
  EXPECT_EQ(recording.metrics[0].name, "echo/count");
  EXPECT_EQ(recording.metrics[0].value, 2.0);
  ASSERT_EQ(recording.tasks.size(), 1u);
  EXPECT_EQ(recording.tasks[0].total, 2);
  EXPECT_EQ(recording.tasks[0].done, 2);
  EXPECT_TRUE(recording.tasks[0].ended);
}

TEST_F(PipelineStagePlugin, EchoWithoutARunNameSeesNull) {
  const json summary =
      instance("echo_stage", {{"greeting", "a"}, {"count", 1}}).run_stage(json::object());
  EXPECT_TRUE(summary["config_seen"].is_null());
}

TEST_F(PipelineStagePlugin, CancelStageReportsCancelled) {
  plugin::ComponentInstance stage = instance("cancel_stage", json::object());
  EXPECT_EQ(stage.run_stage(json::object()), json::parse(R"({"cancelled": false})"));
  recording.cancel_flag = true;
  try {
    stage.run_stage(json::object());
    FAIL() << "the stage ignored the cancellation";
  } catch (const plugin::PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_CANCELLED);
  }
}

TEST_F(PipelineStagePlugin, FailStageKeepsItsCodeAndMessage) {
  try {
    instance("fail_stage", json::object()).run_stage(json::object());
    FAIL() << "fail_stage succeeded";
  } catch (const plugin::PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_DATA);
    EXPECT_TRUE(Contains(e.what(), "bad record at corpus.jsonl:7"));
  }
}

TEST_F(PipelineStagePlugin, DataSourceCannotRunAsAStage) {
  plugin::ComponentInstance source(*registry.find(LMF_KIND_DATA_SOURCE, "quiet_source"),
                                   json::object());
  EXPECT_FALSE(source.runs_as_stage());
  EXPECT_THROW(source.run_stage(json::object()), plugin::PluginError);
}

}  // namespace
}  // namespace lmf::pipeline
