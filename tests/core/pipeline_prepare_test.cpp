// prepare_pipeline: the whole pipeline is checked before anything runs, and every problem is
// reported at once, naming the file to edit and the JSON pointer of the value.
#include "core/config/compose.h"
#include "tests/support/temp_dir.h"
#include "core/pipeline/host_session.h"
#include "core/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
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

json pipeline_with(json stages) {
  return {{"stages", std::move(stages)}};
}

class PipelinePrepare : public ::testing::Test {
 protected:
  void SetUp() override {
    // Only the fixture folder: the test must not depend on which plugins the build has.
    std::vector<plugin::LoadFailure> failures =
        session.registry().load_directories({LMF_TEST_PLUGIN_DIR});
    for (const plugin::LoadFailure& failure : failures) ADD_FAILURE() << failure.message;
    ASSERT_NE(session.registry().find_plugin("lmforge-test-stages"), nullptr)
        << "no fixture plugin in " << LMF_TEST_PLUGIN_DIR;
  }

  Pipeline prepare(config::ComposedConfig composed) {
    return prepare_pipeline(std::move(composed), session.registry());
  }

  // Prepares a pipeline that must be refused and returns the issues.
  std::vector<ConfigIssue> issues_of(config::ComposedConfig composed) {
    try {
      prepare(std::move(composed));
    } catch (const PipelineInvalid& e) {
      return e.issues();
    }
    ADD_FAILURE() << "the pipeline was accepted";
    return {};
  }

  std::ostringstream terminal;
  HostSession session{terminal, false, services::LogLevel::debug};
};

TEST_F(PipelinePrepare, GoodFileIsResolvedAndValidated) {
  const Pipeline pipeline = prepare(config::load_config(fixture("good.json")));
  EXPECT_EQ(pipeline.run.name, "fixture-good");
  EXPECT_FALSE(pipeline.run.output_dir.has_value());
  ASSERT_EQ(pipeline.stages.size(), 2u);

  const Stage& check = pipeline.stages[0];
  EXPECT_EQ(check.name, "plugins");
  EXPECT_EQ(check.pointer, "/stages/0");
  EXPECT_EQ(check.builtin, "plugins.check");
  EXPECT_FALSE(check.component.has_value());
  EXPECT_EQ(check.spec["params"]["allow_load_failures"], false);  // the builtin's default

  const Stage& echo = pipeline.stages[1];
  EXPECT_EQ(echo.name, "echo");
  EXPECT_EQ(echo.pointer, "/stages/1");
  EXPECT_TRUE(echo.builtin.empty());
  ASSERT_TRUE(echo.component.has_value());
  EXPECT_EQ(echo.component->name(), "echo_stage");
  EXPECT_EQ(echo.component->plugin->name(), "lmforge-test-stages");
  EXPECT_EQ(echo.config, json::parse(R"({"greeting": "hi", "count": 3})"));
  EXPECT_EQ(echo.spec["config"], echo.config);
  EXPECT_EQ(echo.spec["params"], json::parse(R"({"topic": "tests"})"));
}

TEST_F(PipelinePrepare, DefaultsAreFilledIn) {
  const Pipeline pipeline = prepare(inline_config(
      pipeline_with({{{"name", "echo"}, {"kind", "backend"}, {"component", "echo_stage"}}})));
  EXPECT_EQ(pipeline.run.name, "pipeline");
  ASSERT_EQ(pipeline.stages.size(), 1u);
  EXPECT_EQ(pipeline.stages[0].config, json::parse(R"({"greeting": "hello", "count": 3})"));
  EXPECT_EQ(pipeline.stages[0].spec["config"], pipeline.stages[0].config);
  EXPECT_EQ(pipeline.stages[0].spec["params"], json::object());
  EXPECT_EQ(pipeline.config.document["run"]["name"], "pipeline");
}

TEST_F(PipelinePrepare, OutputDirIsTaken) {
  json document = pipeline_with(json::array());
  document["run"] = {{"name", "r"}, {"output_dir", "runs/r"}};
  const Pipeline pipeline = prepare(inline_config(document));
  ASSERT_TRUE(pipeline.run.output_dir.has_value());
  EXPECT_EQ(*pipeline.run.output_dir, fs::path("runs/r"));
}

TEST_F(PipelinePrepare, IssueNamesTheIncludedFileThatSuppliedTheValue) {
  const std::vector<ConfigIssue> issues =
      issues_of(config::load_config(fixture("includes_bad.json")));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].file, fixture("parts/bad_count_stages.json").string());
  EXPECT_EQ(issues[0].pointer, "/stages/0/config/count");
  EXPECT_TRUE(Contains(issues[0].message, "must be >= 1, got 0"));
}

TEST_F(PipelinePrepare, WhatHasOneLinePerIssueWithFileAndPointer) {
  try {
    prepare(config::load_config(fixture("two_bad_stages.json")));
    FAIL() << "the pipeline was accepted";
  } catch (const PipelineInvalid& e) {
    const std::string file = fixture("two_bad_stages.json").string();
    const std::string text = e.what();
    EXPECT_TRUE(Contains(text, file + ": /stages/0/config/count: must be >= 1, got 0\n"));
    EXPECT_TRUE(Contains(text, file + ": /stages/1/config"));
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  }
}

TEST_F(PipelinePrepare, EveryBadStageIsReported) {
  const std::vector<ConfigIssue> issues =
      issues_of(config::load_config(fixture("two_bad_stages.json")));
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].pointer, "/stages/0/config/count");
  EXPECT_TRUE(issues[1].pointer.starts_with("/stages/1/config")) << issues[1].pointer;
  EXPECT_TRUE(Contains(issues[1].message, "\"colour\""));
  for (const ConfigIssue& issue : issues)
    EXPECT_EQ(issue.file, fixture("two_bad_stages.json").string());
}

TEST_F(PipelinePrepare, IssueFromTheCommandLineNamesTheAssignment) {
  config::ComposedConfig composed = config::load_config(fixture("good.json"));
  config::apply_override(composed, "stages.1.config.count=0");
  const std::vector<ConfigIssue> issues = issues_of(std::move(composed));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].file, "--set stages.1.config.count=0");
  EXPECT_EQ(issues[0].pointer, "/stages/1/config/count");
}

TEST_F(PipelinePrepare, HostSchemaIssuesAreReportedTogether) {
  json document = pipeline_with(
      {{{"name", "bad name"}, {"builtin", "plugins.check"}}, {{"builtin", "plugins.check"}}});
  document["runn"] = json::object();
  std::map<std::string, std::string> messages;
  for (const ConfigIssue& issue : issues_of(inline_config(document))) {
    EXPECT_EQ(issue.file, "inline.json");
    messages[issue.pointer] = issue.message;
  }
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_TRUE(Contains(messages["/runn"], "did you mean \"run\""));
  EXPECT_TRUE(Contains(messages["/stages/0/name"], "must match the pattern"));
  EXPECT_TRUE(Contains(messages["/stages/1"], "missing required field \"name\""));
}

TEST_F(PipelinePrepare, UnknownComponentListsTheLoadedOnes) {
  const std::vector<ConfigIssue> issues = issues_of(inline_config(
      pipeline_with({{{"name", "echo"}, {"kind", "backend"}, {"component", "echo_stag"}}})));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/0/component");
  EXPECT_TRUE(Contains(issues[0].message, "no backend named \"echo_stag\""));
  EXPECT_TRUE(Contains(issues[0].message, "cancel_stage, echo_stage, fail_stage"));
}

TEST_F(PipelinePrepare, UnknownComponentOfAnEmptyKind) {
  const std::vector<ConfigIssue> issues = issues_of(inline_config(
      pipeline_with({{{"name", "quant"}, {"kind", "quantizer"}, {"component", "bpe"}}})));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_TRUE(Contains(issues[0].message, "no quantizer named \"bpe\""));
  EXPECT_TRUE(Contains(issues[0].message, "none of that kind"));
}

TEST_F(PipelinePrepare, UnknownBuiltinListsTheKnownOnes) {
  const std::vector<ConfigIssue> issues =
      issues_of(inline_config(pipeline_with({{{"name", "check"}, {"builtin", "plugins.chek"}}})));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/0/builtin");
  EXPECT_TRUE(Contains(issues[0].message, "plugins.check"));
  EXPECT_TRUE(Contains(issues[0].message, "plugins.chek"));
}

TEST_F(PipelinePrepare, BuiltinTakesNoConfig) {
  const std::vector<ConfigIssue> issues = issues_of(inline_config(
      pipeline_with({{{"name", "check"}, {"builtin", "plugins.check"}, {"config", {{"a", 1}}}}})));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/0");
  EXPECT_TRUE(Contains(issues[0].message, "not \"kind\" or \"config\""));
}

TEST_F(PipelinePrepare, BuiltinParamsAreValidated) {
  const std::vector<ConfigIssue> issues = issues_of(
      inline_config(pipeline_with({{{"name", "check"},
                                    {"builtin", "plugins.check"},
                                    {"params", {{"require", {{{"kind", "backend"}}}}}}}})));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/0/params/require/0");
  EXPECT_TRUE(Contains(issues[0].message, "missing required field \"name\""));
}

TEST_F(PipelinePrepare, StageNamesEitherBuiltinOrComponent) {
  const std::vector<ConfigIssue> issues = issues_of(inline_config(pipeline_with({
      {{"name", "both"},
       {"builtin", "plugins.check"},
       {"kind", "backend"},
       {"component", "echo_stage"}},
      {{"name", "neither"}, {"kind", "backend"}},
  })));
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].pointer, "/stages/0");
  EXPECT_TRUE(Contains(issues[0].message, "either \"builtin\" or \"kind\" and \"component\""));
  EXPECT_EQ(issues[1].pointer, "/stages/1");
}

TEST_F(PipelinePrepare, ComponentStageNeedsKind) {
  const std::vector<ConfigIssue> issues =
      issues_of(inline_config(pipeline_with({{{"name", "echo"}, {"component", "echo_stage"}}})));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/0");
  EXPECT_TRUE(Contains(issues[0].message, "needs \"kind\""));
}

TEST_F(PipelinePrepare, DuplicateStageNames) {
  const std::vector<ConfigIssue> issues = issues_of(inline_config(pipeline_with({
      {{"name", "echo"}, {"kind", "backend"}, {"component", "echo_stage"}},
      {{"name", "echo"}, {"builtin", "plugins.check"}},
  })));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/1/name");
  EXPECT_TRUE(Contains(issues[0].message, "\"echo\" is used twice"));
}

TEST_F(PipelinePrepare, ComponentWithoutRunStageIsRefused) {
  const std::vector<ConfigIssue> issues = issues_of(inline_config(
      pipeline_with({{{"name", "read"}, {"kind", "data_source"}, {"component", "quiet_source"}}})));
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].pointer, "/stages/0/component");
  EXPECT_TRUE(
      Contains(issues[0].message, "data_source \"quiet_source\" cannot run as a pipeline stage"));
}

TEST_F(PipelinePrepare, ComponentIssuesAndHostIssuesOfDifferentStagesComeTogether) {
  const std::vector<ConfigIssue> issues = issues_of(inline_config(pipeline_with({
      {{"name", "a"}, {"kind", "backend"}, {"component", "missing"}},
      {{"name", "b"}, {"kind", "backend"}, {"component", "echo_stage"}, {"config", {{"count", 0}}}},
      {{"name", "c"}, {"kind", "data_source"}, {"component", "quiet_source"}},
  })));
  std::vector<std::string> pointers;
  for (const ConfigIssue& issue : issues) pointers.push_back(issue.pointer);
  EXPECT_EQ(pointers, (std::vector<std::string>{"/stages/0/component", "/stages/1/config/count",
                                                "/stages/2/component"}));
}

}  // namespace
}  // namespace lmf::pipeline
