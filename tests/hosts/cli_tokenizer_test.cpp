// `lmforge tokenizer train` as a user runs it, with the build's hf and data-source plugins
// (tests/tokenizer_train/CMakeLists.txt makes this executable depend on them). Outputs go
// to fresh temporary folders; the training corpus is tests/fixtures/tokenizers/train/.
#include "tests/hosts/cli_support.h"

#include <nlohmann/json.hpp>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

const fs::path kTrainFixtures = fs::path(LMF_TEST_FIXTURES_DIR) / "tokenizers" / "train";
const std::string kCorpus = (kTrainFixtures / "corpus.txt").string();

std::vector<std::string> train_args(std::vector<std::string> more) {
  std::vector<std::string> args{"tokenizer", "train"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

void write(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// The model's tokens by id and its merges as "left right".
struct Model {
  std::vector<std::string> tokens, merges;
};
Model model_of(const fs::path& file) {
  const json root = json::parse(read_all(file));
  Model model;
  model.tokens.resize(root["model"]["vocab"].size());
  for (const auto& [token, id] : root["model"]["vocab"].items()) model.tokens.at(id) = token;
  for (const json& merge : root["model"]["merges"])
    model.merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
  return model;
}

// The generator ran lmforge with these arguments to write the tokenizer.json whose Hugging
// Face ids tests/tokenizer_train checks: lmforge still writes exactly those files.
TEST(CliTokenizerTrain, WritesTheFilesTheHuggingFaceFixtureWasMadeFrom) {
  const json expected = json::parse(read_all(kTrainFixtures / "lmforge_trained.expected.json"));
  TempDir temp;
  std::vector<std::string> args;
  for (const json& arg : expected["lmforge_args"]) {
    std::string word = arg.get<std::string>();
    if (word == "OUT") word = (temp.path() / "out").string();
    if (word.starts_with("tests/fixtures/"))
      word = (fs::path(LMF_TEST_FIXTURES_DIR) / word.substr(15)).string();
    args.push_back(word);
  }
  const CliResult result = run_lmforge(args);
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "Trained tokenizer \"hf\": 2000 tokens from "));
  EXPECT_TRUE(Contains(result.out, " in 1 files and 0 data sources"));
  EXPECT_TRUE(Contains(result.out, (temp.path() / "out" / "tokenizer.json").string()));
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    EXPECT_EQ(read_all(temp.path() / "out" / file),
              read_all(kTrainFixtures / "lmforge_trained" / file))
        << file << " differs from the fixture: run generate_expected.mjs again if intended";
}

// The text files are read as Hugging Face's train(files) reads them (each line with its
// ending): with min_frequency 0, no special tokens and a vocabulary larger than the corpus
// fills, lmforge makes HF's merges, in HF's order (hf_trained.json). Its ids start after
// the 256 byte symbols where HF's start after the characters seen.
TEST(CliTokenizerTrain, ReadsTextFilesAsHuggingFaceDoes) {
  TempDir temp;
  const CliResult result =
      run_lmforge(train_args({"--input", kCorpus, "--output", temp.path().string(), "--vocab-size",
                              "30000", "--min-frequency", "0", "--special", ""}));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const Model ours = model_of(temp.path() / "tokenizer.json");
  const Model hf = model_of(kTrainFixtures / "hf_trained.json");
  ASSERT_EQ(ours.merges.size(), hf.merges.size());
  EXPECT_TRUE(ours.merges == hf.merges) << "the merges differ from HF's";
  const size_t hf_alphabet = hf.tokens.size() - hf.merges.size();
  ASSERT_EQ(ours.tokens.size(), 256 + hf.merges.size());
  EXPECT_TRUE(std::equal(ours.tokens.begin() + 256, ours.tokens.end(),
                         hf.tokens.begin() + static_cast<long>(hf_alphabet)));
}

// A data-source config: each record's text is one text. Read as plain text, the JSON key
// "text" would be a word of the corpus and, with min_frequency 1, a token.
TEST(CliTokenizerTrain, ReadsADataSourceConfig) {
  TempDir temp;
  const fs::path records = temp.path() / "docs.jsonl";
  write(records, "{\"text\": \"zzzz yyyy\"}\n{\"text\": \"zzzz\"}\n{\"text\": \"yyyy zzzz\"}\n");
  const fs::path spec = temp.path() / "source.json";
  write(spec, json{{"component", "jsonl"},
                   {"config", {{"inputs", {records.string()}}, {"stages", json::array()}}}}
                  .dump());
  const fs::path output = temp.path() / "out";
  const CliResult result =
      run_lmforge(train_args({"--input", spec.string(), "--output", output.string(), "--vocab-size",
                              "300", "--min-frequency", "1", "--special", ""}));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "from 3 texts"));
  EXPECT_TRUE(Contains(result.out, "in 0 files and 1 data sources"));
  const Model model = model_of(output / "tokenizer.json");
  const auto has = [&](const std::string& token) {
    return std::find(model.tokens.begin(), model.tokens.end(), token) != model.tokens.end();
  };
  EXPECT_TRUE(has("zzzz"));
  EXPECT_TRUE(has("\xC4\xA0yyyy"));  // "Ġyyyy": " yyyy"
  EXPECT_FALSE(has("text")) << "the JSON was read as text";
}

TEST(CliTokenizerTrain, HelpListsTheOptions) {
  const CliResult result = run_lmforge(train_args({"--help"}));
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  for (const char* option : {"--input", "--output", "--vocab-size", "--special", "--min-frequency",
                             "--add-bos", "--plugin-path"})
    EXPECT_TRUE(Contains(result.out, option));
}

TEST(CliTokenizerTrain, MissingOptionsAreUsageErrors) {
  TempDir temp;
  CliResult result = run_lmforge(train_args({"--output", temp.path().string()}));
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "--input is required"));
  result = run_lmforge(train_args({"--input", kCorpus}));
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "--output is required"));
}

TEST(CliTokenizerTrain, AnInputThatNamesNothingIsNamed) {
  TempDir temp;
  const std::string missing = (temp.path() / "no_such.txt").string();
  CliResult result =
      run_lmforge(train_args({"--input", missing, "--output", (temp.path() / "out").string()}));
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "--input " + missing + ": no such file or folder"));
  const std::string glob = (temp.path() / "*.txt").string();
  result = run_lmforge(train_args({"--input", glob, "--output", (temp.path() / "out").string()}));
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "--input " + glob + ": no file matches"));
}

TEST(CliTokenizerTrain, InvalidUtf8NamesTheFileAndLine) {
  TempDir temp;
  const fs::path file = temp.path() / "latin1.txt";
  write(file, "fine\ncaf\xE9 au lait\n");
  const CliResult result = run_lmforge(
      train_args({"--input", file.string(), "--output", (temp.path() / "out").string()}));
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_TRUE(Contains(result.err, file.string() + ":2: not valid UTF-8 (byte 4 of the line)"));
  EXPECT_FALSE(fs::exists(temp.path() / "out" / "tokenizer.json"));
}

TEST(CliTokenizerTrain, VocabSizeBelowTheAlphabetIsRefused) {
  TempDir temp;
  const CliResult result = run_lmforge(
      train_args({"--input", kCorpus, "--output", temp.path().string(), "--vocab-size", "100"}));
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err,
                       "\"vocab_size\": 100 is smaller than the 4 special tokens and the 256 "
                       "byte symbols it must hold (260)"));
}

// The options are the tokenizer.train stage's params, checked by its schema before any
// work; what it refuses is reported as the option, not as a JSON pointer.
TEST(CliTokenizerTrain, OptionsOutOfRangeAreUsageErrorsNamingTheOption) {
  TempDir temp;
  const CliResult result =
      run_lmforge(train_args({"--input", kCorpus, "--output", (temp.path() / "out").string(),
                              "--vocab-size", "0", "--min-frequency", "-1"}));
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "--vocab-size: must be >= 1, got 0"));
  EXPECT_TRUE(Contains(result.err, "--min-frequency: must be >= 0, got -1"));
  EXPECT_FALSE(Contains(result.err, "/stages/0/params"));
  EXPECT_FALSE(fs::exists(temp.path() / "out"));
}

TEST(CliTokenizerTrain, AnOutputFolderThatCannotBeMadeIsNamed) {
  TempDir temp;
  const fs::path file = temp.path() / "a_file";
  write(file, "not a folder");
  const CliResult result =
      run_lmforge(train_args({"--input", kCorpus, "--output", (file / "tokenizer").string()}));
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_TRUE(
      Contains(result.err, "cannot create the output folder " + (file / "tokenizer").string()));
}

TEST(CliTokenizerTrain, AnEmptyCorpusIsAnError) {
  TempDir temp;
  const fs::path empty = temp.path() / "empty.txt";
  write(empty, "");
  const CliResult result = run_lmforge(
      train_args({"--input", empty.string(), "--output", (temp.path() / "out").string()}));
  EXPECT_EQ(result.exit_code, 1) << describe(result);
  EXPECT_TRUE(Contains(result.err, "no text to train on"));
  EXPECT_FALSE(fs::exists(temp.path() / "out" / "tokenizer.json"));
}

TEST(CliTokenizerTrain, AWrongDataSourceConfigIsNamed) {
  TempDir temp;
  const fs::path spec = temp.path() / "source.json";
  write(spec, R"({"component": "jsonl", "config": {"inputs": ["x.jsonl"], "colour": "red"}})");
  const CliResult result = run_lmforge(
      train_args({"--input", spec.string(), "--output", (temp.path() / "out").string()}));
  EXPECT_EQ(result.exit_code, 3) << describe(result);
  EXPECT_TRUE(Contains(result.err, spec.string()));
  EXPECT_TRUE(Contains(result.err, "/config/colour"));
}

}  // namespace
}  // namespace lmf::cli_test
