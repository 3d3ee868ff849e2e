// `lmforge data prepare` on tests/fixtures/pipelines/data_prepare.json, against the fixture
// plugin's list_source and byte_tokenizer; every output folder lies in a fresh temporary
// folder (--set stages.0.params.output=...).
#include "tests/hosts/cli_support.h"

#include <nlohmann/json.hpp>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

std::vector<std::string> data_prepare(const std::string& file, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"data", "prepare", pipeline_fixture(file).string(), "--plugin-path",
                                kPluginDir};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::string output_override(const fs::path& output) {
  return "stages.0.params.output=" + output.string();
}

// What data_prepare.json asks for: 30 records of 3 texts, every 4th dropped, each kept one
// as <bos> + its UTF-8 bytes + <eos>.
struct Expected {
  uint64_t documents = 0;
  uint64_t tokens = 0;
};
Expected expected_output() {
  const std::vector<std::string> texts = {"hello", "world", "h\xc3\xa9llo"};
  Expected expected;
  for (uint64_t id = 0; id < 30; ++id) {
    if (id % 4 == 3) continue;
    ++expected.documents;
    expected.tokens += texts[id % 3].size() + 2;
  }
  return expected;
}

TEST(CliDataPrepare, WritesShardsAndTheManifest) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const CliResult result =
      run_lmforge(data_prepare("data_prepare.json", {"--set", output_override(output)}));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const Expected expected = expected_output();
  EXPECT_TRUE(Contains(result.out, "Run \"fixture-data\":"));
  EXPECT_TRUE(Contains(result.out, "prepare"));
  EXPECT_TRUE(Contains(result.out, "completed"));
  // The stage's own table: records and tokens written.
  EXPECT_TRUE(Contains(result.out, std::to_string(expected.documents) + " records, " +
                                       std::to_string(expected.tokens) + " tokens into "));
  EXPECT_FALSE(Contains(result.out, "echo")) << "only data.prepare stages run";

  const json manifest = json::parse(read_all(output / "manifest.json"));
  EXPECT_EQ(manifest["format"], "lmforge-shards");
  EXPECT_EQ(manifest["complete"], true);
  EXPECT_EQ(manifest["vocab_size"], 258);
  EXPECT_EQ(manifest["token_bytes"], 2);
  EXPECT_EQ(manifest["report"],
            json::parse(R"({"records_in": 30, "records_out": 23, "dropped": 7})"));
  uint64_t documents = 0, tokens = 0;
  for (const auto& [name, split] : manifest["splits"].items()) {
    documents += split["documents"].get<uint64_t>();
    tokens += split["tokens"].get<uint64_t>();
    for (const json& shard : split["shards"]) {
      const std::string file = name + "/" + shard["name"].get<std::string>();
      EXPECT_EQ(fs::file_size(output / (file + ".tokens")), 2 * shard["tokens"].get<uint64_t>())
          << file;
      EXPECT_TRUE(fs::exists(output / (file + ".index"))) << file;
    }
  }
  EXPECT_EQ(documents, expected.documents);
  EXPECT_EQ(tokens, expected.tokens);

  // Again: nothing to do.
  const CliResult again =
      run_lmforge(data_prepare("data_prepare.json", {"--set", output_override(output)}));
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_TRUE(Contains(again.out, "\"already_complete\":true"));
  EXPECT_TRUE(Contains(again.err, "is already complete"));
}

TEST(CliDataPrepare, FileWithoutDataPrepareStages) {
  const CliResult result = run_lmforge(data_prepare("good.json"));
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, pipeline_fixture("good.json").string() +
                                       " has no stage with \"builtin\": \"data.prepare\""));
}

TEST(CliDataPrepare, Help) {
  const CliResult result = run_lmforge({"data", "prepare", "--help"});
  EXPECT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "lmforge data prepare FILE"));
  EXPECT_TRUE(Contains(result.out, "docs/data-format.md"));
}

TEST(CliDataPrepare, MissingSourceComponentIsAPluginError) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const CliResult result = run_lmforge(
      data_prepare("data_prepare.json", {"--set", output_override(output), "--set",
                                         "stages.0.params.source.component=no_such_source"}));
  EXPECT_EQ(result.exit_code, 4) << describe(result);
  EXPECT_TRUE(Contains(
      result.err, "/stages/0/params/source/component: no data_source named \"no_such_source\""));
  EXPECT_FALSE(fs::exists(output));
}

TEST(CliDataPrepare, BadTokenizerConfigNamesThePointer) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const CliResult result = run_lmforge(data_prepare(
      "data_prepare.json",
      {"--set", output_override(output), "--set", "stages.0.params.tokenizer.config.add_bos=yes"}));
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, "/stages/0/params/tokenizer/config/add_bos"));
  EXPECT_FALSE(fs::exists(output));
}

TEST(CliDataPrepare, FailingStage) {
  TempDir temp;
  const fs::path output = temp.path() / "shards";
  const CliResult result =
      run_lmforge(data_prepare("data_prepare.json", {"--set", output_override(output), "--set",
                                                     "stages.0.params.eos_token=<end>"}));
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_TRUE(Contains(result.out, "eos_token \"<end>\""));
}

}  // namespace
}  // namespace lmf::cli_test
