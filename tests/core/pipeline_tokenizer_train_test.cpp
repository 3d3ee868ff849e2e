// The tokenizer.train stage run as `lmforge run` runs it (prepare_pipeline + run_pipeline),
// with the build's hf tokenizer and jsonl data-source plugins. What the trained tokenizer
// must encode comes from Hugging Face, not from our code: tests/fixtures/tokenizers/train/
// (generate_expected.mjs) holds HF's ids for the tokenizer.json that these very options
// train, over the texts of tests/fixtures/tokenizers/corpus.jsonl, checked by the tokenizer
// conformance checks (tests/conformance/tokenizer/). Built with them and the plugins only
// where the build has the hf plugin (tests/tokenizer_train/CMakeLists.txt).
#include "core/config/compose.h"
#include "core/data/shard_reader.h"
#include "core/pipeline/pipeline.h"
#include "core/pipeline/run_services.h"
#include "core/pipeline/runner.h"
#include "core/plugin/registry.h"
#include "core/services/cancellation.h"
#include "core/services/log.h"
#include "core/services/progress.h"
#include "tests/support/temp_dir.h"

#ifdef LMF_TOKENIZER_HF_PLUGIN
#include "tests/conformance/tokenizer/tokenizer_checks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#ifndef LMF_TEST_FIXTURES_DIR
#error "LMF_TEST_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

namespace lmf::tokenizer {
namespace {

namespace fs = std::filesystem;
namespace tk = conformance::tokenizer;
using lmf::testing::Contains;
using lmf::testing::TempDir;
using nlohmann::json;

const fs::path kTokenizerFixtures = fs::path(LMF_TEST_FIXTURES_DIR) / "tokenizers";
const fs::path kTrainFixtures = kTokenizerFixtures / "train";

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// The tokens of a tokenizer.json's model, by id.
std::vector<std::string> vocabulary_of(const fs::path& tokenizer_json) {
  const json root = json::parse(read_text(tokenizer_json));
  std::vector<std::string> tokens(root["model"]["vocab"].size());
  for (const auto& [token, id] : root["model"]["vocab"].items())
    tokens.at(id.get<size_t>()) = token;
  return tokens;
}

bool has_token(const std::vector<std::string>& tokens, const std::string& token) {
  return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
}

// The stage's params for the options the fixture's tokenizer was trained with (its
// "lmforge_args", the command line of `lmforge tokenizer train`).
json params_of_fixture_args(const json& args, const fs::path& output) {
  json params = {{"output", output.string()}};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string arg = args[i].get<std::string>();
    const std::string value = i + 1 < args.size() ? args[i + 1].get<std::string>() : "";
    if (arg == "--input")
      params["inputs"].push_back((fs::path(LMF_TEST_FIXTURES_DIR) / value.substr(15)).string());
    if (arg == "--vocab-size") params["vocab_size"] = std::stoi(value);
    if (arg == "--min-frequency") params["min_frequency"] = std::stoi(value);
    if (arg == "--add-bos") params["add_bos_token"] = true;
    if (arg == "--add-eos") params["add_eos_token"] = true;
    if (arg == "--special") {
      std::vector<std::string> tokens;
      for (size_t start = 0, comma = 0; comma != std::string::npos; start = comma + 1) {
        comma = value.find(',', start);
        tokens.push_back(value.substr(start, comma - start));
      }
      params["special_tokens"] = tokens;
    }
  }
  return params;
}

class PipelineTokenizerTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    services::Cancellation::process().reset();
    registry.load_file(LMF_TOKENIZER_HF_PLUGIN);
    registry.load_file(LMF_DATA_CORPUS_PLUGIN);
    ASSERT_TRUE(registry.find(LMF_KIND_TOKENIZER, "hf").has_value());
    ASSERT_TRUE(registry.find(LMF_KIND_DATA_SOURCE, "jsonl").has_value());
  }
  void TearDown() override { services::Cancellation::process().reset(); }

  static json stage(const std::string& name, const std::string& builtin, json params) {
    return {{"name", name}, {"builtin", builtin}, {"params", std::move(params)}};
  }
  static json pipeline_of(json stages) {
    return {{"run", {{"name", "tokenizer"}}}, {"stages", std::move(stages)}};
  }

  pipeline::Pipeline prepare(const json& document) {
    config::ComposedConfig composed;
    composed.document = document;
    composed.record_origin("", "inline.json");
    return pipeline::prepare_pipeline(std::move(composed), registry);
  }

  // The issues of a pipeline that must be refused.
  std::vector<pipeline::ConfigIssue> issues_of(const json& document) {
    try {
      prepare(document);
    } catch (const pipeline::PipelineInvalid& e) {
      return e.issues();
    }
    ADD_FAILURE() << "the pipeline was accepted";
    return {};
  }

  pipeline::RunResult run(const json& document) {
    return pipeline::run_pipeline(prepare(document), registry, services);
  }

  // Runs a pipeline of one tokenizer.train stage that must complete; returns its summary.
  json train(const json& params) {
    const pipeline::RunResult result =
        run(pipeline_of({stage("train", "tokenizer.train", params)}));
    EXPECT_EQ(result.outcome, pipeline::RunOutcome::completed) << result.to_json().dump(2);
    return result.stages.at(0).summary;
  }

  // The error of a pipeline of one tokenizer.train stage that must fail.
  std::string failure_of(const json& params) {
    const pipeline::RunResult result =
        run(pipeline_of({stage("train", "tokenizer.train", params)}));
    EXPECT_EQ(result.outcome, pipeline::RunOutcome::failed) << result.to_json().dump(2);
    return result.stages.at(0).error;
  }

  std::ostringstream terminal;
  services::Logger logger{terminal, services::LogLevel::debug};
  services::ProgressBoard progress{terminal};
  pipeline::RunServices services{logger, progress, services::Cancellation::process()};
  plugin::PluginRegistry registry{services};
};

// Trained with the options the fixture was made with, the tokenizer encodes every text of
// the conformance corpus to Hugging Face's ids for the fixture, with and without special
// tokens, and the files are the fixture's byte for byte.
TEST_F(PipelineTokenizerTrain, TheTrainedTokenizerEncodesAsHuggingFaceDoes) {
  const json expected = json::parse(read_text(kTrainFixtures / "lmforge_trained.expected.json"));
  TempDir temp;
  const fs::path output = temp.path() / "tokenizer";
  const json summary = train(params_of_fixture_args(expected["lmforge_args"], output));

  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    EXPECT_EQ(read_text(output / file), read_text(kTrainFixtures / "lmforge_trained" / file))
        << file;
  const tk::Subject subject{"trained by the tokenizer.train stage",
                            *registry.find(LMF_KIND_TOKENIZER, "hf"),
                            {{"path", output.string()}},
                            tk::read_corpus(kTokenizerFixtures / "corpus.jsonl"),
                            tk::read_expected(kTrainFixtures / "lmforge_trained.expected.json")};
  ASSERT_EQ(subject.expected.cases.size(), 268u);
  for (const tk::Failures& failures :
       {tk::check_encode(subject), tk::check_decode(subject), tk::check_vocabulary(subject)})
    for (const std::string& failure : failures) ADD_FAILURE() << failure;

  const std::string corpus = read_text(kTrainFixtures / "corpus.txt");
  const json hf_file =
      json::parse(read_text(kTrainFixtures / "lmforge_trained" / "tokenizer.json"));
  EXPECT_EQ(summary["vocab_size"], expected["vocab_size"]);
  EXPECT_EQ(summary["vocab_size_asked"], 2000);
  EXPECT_EQ(summary["merges"], hf_file["model"]["merges"].size());
  EXPECT_EQ(summary["texts"], std::count(corpus.begin(), corpus.end(), '\n'));  // a text per line
  EXPECT_EQ(summary["bytes"], corpus.size());
  EXPECT_EQ(summary["files_read"], 1);
  EXPECT_EQ(summary["data_sources_read"], 0);
  EXPECT_FALSE(summary.contains("warning"));
  EXPECT_EQ(summary["files"], json::array({(output / "tokenizer.json").string(),
                                           (output / "tokenizer_config.json").string()}));
  EXPECT_TRUE(
      Contains(summary["table"].get<std::string>(), "Trained tokenizer \"hf\": 2000 tokens from "));
}

// The folder the stage writes is what data.prepare loads as {"component": "hf", "config":
// {"path": ...}}, in the next stage of the same pipeline: the shards hold HF's ids.
TEST_F(PipelineTokenizerTrain, DataPrepareTokenizesWithTheTrainedTokenizer) {
  const json expected = json::parse(read_text(kTrainFixtures / "lmforge_trained.expected.json"));
  TempDir temp;
  const fs::path tokenizer = temp.path() / "tokenizer";
  const fs::path records = temp.path() / "records.jsonl";
  std::vector<std::vector<int32_t>> want;
  {
    std::ofstream out(records, std::ios::binary);
    for (const tk::CorpusText& text : tk::read_corpus(kTokenizerFixtures / "corpus.jsonl"))
      if (text.name == "en-prose" || text.name == "en-dialogue" || text.name == "zh-modern") {
        out << json{{"text", text.bytes}}.dump() << "\n";
        for (const json& c : expected["cases"])
          if (c["name"] == text.name)
            want.push_back(c["ids_with_special"].get<std::vector<int32_t>>());
      }
  }
  ASSERT_EQ(want.size(), 3u);
  const json prepare_params = {
      {"source",
       {{"component", "jsonl"},
        {"config", {{"inputs", {records.string()}}, {"stages", json::array()}}}}},
      {"tokenizer", {{"component", "hf"}, {"config", {{"path", tokenizer.string()}}}}},
      {"output", (temp.path() / "shards").string()},
      {"validation_fraction", 0}};
  const pipeline::RunResult result =
      run(pipeline_of({stage("train", "tokenizer.train",
                             params_of_fixture_args(expected["lmforge_args"], tokenizer)),
                       stage("tokenize", "data.prepare", prepare_params)}));
  ASSERT_EQ(result.outcome, pipeline::RunOutcome::completed) << result.to_json().dump(2);

  const json manifest = json::parse(read_text(temp.path() / "shards" / "manifest.json"));
  EXPECT_EQ(manifest["vocab_size"], 2000);
  const json& shards = manifest["splits"]["train"]["shards"];
  ASSERT_EQ(shards.size(), 1u);
  data::ShardReader reader(temp.path() / "shards" / "train", shards[0]["name"].get<std::string>());
  ASSERT_EQ(reader.documents(), 3u);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(reader.document(i), want[i]) << "document " << i;
}

// A data source given inline: each record's text is one text. Read as plain text, the
// JSON key "text" would be a word of the corpus and, with min_frequency 1, a token.
TEST_F(PipelineTokenizerTrain, AnInlineSourceIsReadRecordByRecord) {
  TempDir temp;
  const fs::path records = temp.path() / "docs.jsonl";
  write_text(records,
             "{\"text\": \"zzzz yyyy\"}\n{\"text\": \"zzzz\"}\n{\"text\": \"yyyy zzzz\"}\n");
  const json summary =
      train({{"source", {{"component", "jsonl"}, {"config", {{"inputs", {records.string()}}}}}},
             {"output", (temp.path() / "out").string()},
             {"vocab_size", 300},
             {"min_frequency", 1},
             {"special_tokens", json::array()}});
  EXPECT_EQ(summary["texts"], 3);
  EXPECT_EQ(summary["files_read"], 0);
  EXPECT_EQ(summary["data_sources_read"], 1);
  const std::vector<std::string> tokens = vocabulary_of(temp.path() / "out" / "tokenizer.json");
  EXPECT_TRUE(has_token(tokens, "zzzz"));
  EXPECT_TRUE(has_token(tokens, "\xC4\xA0yyyy"));  // "Ġyyyy": " yyyy"
  EXPECT_FALSE(has_token(tokens, "text")) << "the JSON was read as text";
}

// "ab ab ab" is the words "ab" and " ab" twice: a+b is seen 3 times, then Ġ+ab twice, and
// nothing more; the 256 byte symbols and these 2 merges are 258 of the 1000 tokens asked.
TEST_F(PipelineTokenizerTrain, ACorpusThatFillsFewerTokensThanAskedIsReported) {
  TempDir temp;
  write_text(temp.path() / "small.txt", "ab ab ab");
  const json summary = train({{"inputs", {(temp.path() / "small.txt").string()}},
                              {"output", (temp.path() / "out").string()},
                              {"vocab_size", 1000},
                              {"special_tokens", json::array()}});
  EXPECT_EQ(summary["vocab_size"], 258);
  EXPECT_EQ(summary["merges"], 2);
  EXPECT_EQ(summary["texts"], 1);
  EXPECT_EQ(summary["bytes"], 8);
  ASSERT_TRUE(summary.contains("warning"));
  EXPECT_TRUE(
      Contains(summary["warning"].get<std::string>(), "filled 258 of the 1000 tokens asked"));
  EXPECT_TRUE(Contains(summary["table"].get<std::string>(), "warning: the corpus filled 258"));
}

TEST_F(PipelineTokenizerTrain, ParamsAreCheckedBeforeAnythingRunsNamingTheField) {
  TempDir temp;
  const json good = {{"inputs", {(kTrainFixtures / "corpus.txt").string()}},
                     {"output", (temp.path() / "out").string()}};
  // The stage is the second one: the pointer says which stage and which field.
  const auto issues_with = [&](const json& more) {
    json params = good;
    params.update(more);
    return issues_of(pipeline_of({stage("check", "plugins.check", json::object()),
                                  stage("train", "tokenizer.train", params)}));
  };
  const auto single = [](const std::vector<pipeline::ConfigIssue>& issues) {
    EXPECT_EQ(issues.size(), 1u);
    return issues.empty() ? pipeline::ConfigIssue{} : issues[0];
  };

  pipeline::ConfigIssue issue = single(issues_with({{"vocab_size", 0}}));
  EXPECT_EQ(issue.file, "inline.json");
  EXPECT_EQ(issue.pointer, "/stages/1/params/vocab_size");
  EXPECT_TRUE(Contains(issue.message, ">= 1")) << issue.message;

  issue = single(issues_with({{"min_frequency", -1}}));
  EXPECT_EQ(issue.pointer, "/stages/1/params/min_frequency");

  issue = single(issues_with({{"special_tokens", {"<bos>", ""}}}));
  EXPECT_EQ(issue.pointer, "/stages/1/params/special_tokens/1");

  issue = single(issues_with({{"vocabulary", 8000}}));
  EXPECT_TRUE(Contains(issue.message, "vocabulary")) << issue.message;

  issue = single(issues_with({{"inputs", json::array()}}));
  EXPECT_EQ(issue.pointer, "/stages/1/params/inputs");
  EXPECT_TRUE(Contains(issue.message, "nothing to train on")) << issue.message;

  issue = single(issues_with({{"tokenizer", {{"component", "no_such_tokenizer"}}}}));
  EXPECT_EQ(issue.pointer, "/stages/1/params/tokenizer/component");
  EXPECT_TRUE(issue.missing_component);

  issue = single(issues_with(
      {{"source", {{"component", "jsonl"}, {"config", {{"inputs", {"x"}}, {"colour", "red"}}}}}}));
  EXPECT_EQ(issue.pointer, "/stages/1/params/source/config/colour");

  json without_output = good;
  without_output.erase("output");
  issue = single(issues_of(pipeline_of({stage("train", "tokenizer.train", without_output)})));
  EXPECT_EQ(issue.pointer, "/stages/0/params");
  EXPECT_TRUE(Contains(issue.message, "output")) << issue.message;
}

TEST_F(PipelineTokenizerTrain, AnOutputThatHoldsFilesIsKeptUnlessOverwriteIsSet) {
  TempDir temp;
  const fs::path output = temp.path() / "out";
  fs::create_directories(output);
  write_text(output / "tokenizer.json", "an earlier tokenizer");
  json params = {{"inputs", {(kTrainFixtures / "corpus.txt").string()}},
                 {"output", output.string()},
                 {"vocab_size", 300}};

  const std::string error = failure_of(params);
  EXPECT_TRUE(
      Contains(error, "output " + output.string() + " already holds files (tokenizer.json)"));
  EXPECT_TRUE(Contains(error, "\"overwrite\": true"));
  EXPECT_EQ(read_text(output / "tokenizer.json"), "an earlier tokenizer");

  params["overwrite"] = true;
  const json summary = train(params);
  EXPECT_EQ(summary["vocab_size"], 300);
  EXPECT_EQ(vocabulary_of(output / "tokenizer.json").size(), 300u);
}

// Inputs are read when the stage runs (an earlier stage may write them); a wrong one fails
// the stage naming it, and leaves nothing written and nothing cancelled.
TEST_F(PipelineTokenizerTrain, InputsThatCannotBeReadAreNamed) {
  TempDir temp;
  const fs::path missing = temp.path() / "no_such.txt";
  std::string error =
      failure_of({{"inputs", {(kTrainFixtures / "corpus.txt").string(), missing.string()}},
                  {"output", (temp.path() / "a").string()}});
  EXPECT_TRUE(Contains(error, "inputs[1] " + missing.string() + ": no such file or folder"));

  const fs::path latin1 = temp.path() / "latin1.txt";
  write_text(latin1, "fine\ncaf\xE9 au lait\n");
  error = failure_of({{"inputs", {latin1.string()}}, {"output", (temp.path() / "b").string()}});
  EXPECT_TRUE(Contains(error, latin1.string() + ":2: not valid UTF-8 (byte 4 of the line)"));
  EXPECT_FALSE(fs::exists(temp.path() / "b" / "tokenizer.json"));
  EXPECT_FALSE(services::Cancellation::process().requested())
      << "the stop the corpus asked of the tokenizer was left standing";
}

}  // namespace
}  // namespace lmf::tokenizer

#else  // no hf plugin in this build

TEST(PipelineTokenizerTrain, NeedsTheHfPlugin) {
  GTEST_SKIP()
      << "the hf tokenizer plugin is left out of this build (tests/tokenizer_train/CMakeLists.txt)";
}

#endif
