// What the sentencepiece tokenizer says about bad input: each error names what to fix (the
// file, the JSON field, the byte offset) with the status code a host can act on.
#include "core/config/schema.h"
#include "tests/support/temp_dir.h"
#include "tests/tokenizer_sentencepiece/spm_plugin.h"

#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace spt = lmf::testing::sentencepiece;
namespace tk = lmf::conformance::tokenizer;
using lmf::testing::Contains;
using nlohmann::json;

class BadInput : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::filesystem::path file = dir_.path() / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
    return file.string();
  }
  std::string model_bytes() const {
    std::ifstream in(spt::fixtures() / "tiny_bpe.model", std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  void expect_fails(const json& config, lmf_status_code code,
                    const std::vector<std::string>& mentions) {
    for (const std::string& failure :
         tk::check_create_fails(plugin_.component(), config, code, mentions))
      ADD_FAILURE() << failure;
  }
  // The schema's complaints about `config`, as "pointer: message" lines.
  std::string schema_issues(json config) {
    std::string issues;
    for (const auto& issue :
         lmf::config::validate(json::parse(plugin_.component().schema()), config))
      issues += issue.pointer + ": " + issue.message + "\n";
    return issues;
  }

  lmf::testing::TempDir dir_{"lmf_spm_bad"};
  spt::SpmPlugin plugin_;
};

TEST_F(BadInput, MissingFileNamesThePath) {
  const std::string missing = (dir_.path() / "no" / "such" / "tokenizer.model").string();
  expect_fails({{"path", missing}}, LMF_ERR_NOT_FOUND, {missing, "no such SentencePiece model"});
}

TEST_F(BadInput, FolderWithoutTokenizerModelNamesTheFolder) {
  const std::filesystem::path folder = dir_.path() / "model_folder";
  std::filesystem::create_directories(folder);
  write("model_folder/tokenizer_config.json", "{}");
  expect_fails({{"path", folder.string()}}, LMF_ERR_NOT_FOUND,
               {folder.string(), "tokenizer.model"});
}

TEST_F(BadInput, CorruptModelsNameTheFile) {
  const std::string model = model_bytes();
  ASSERT_GT(model.size(), 10000u);
  const std::vector<std::pair<std::string, std::string>> corrupt = {
      {"empty.model", ""},
      {"text.model", "this is a text file, not a SentencePiece model\n"},
      {"truncated.model", model.substr(0, model.size() / 2)},
      {"json.model", R"({"model": {"type": "BPE"}})"},
  };
  for (const auto& [name, bytes] : corrupt)
    expect_fails({{"path", write(name, bytes)}}, LMF_ERR_DATA,
                 {dir_.path() / name, "not a valid SentencePiece model"});
}

TEST_F(BadInput, MalformedTokenizerConfigNamesTheFile) {
  write("folder/tokenizer.model", model_bytes());
  const std::string config =
      write("folder/tokenizer_config.json", "{\n  \"add_bos_token\": tru\n}\n");
  expect_fails({{"path", (dir_.path() / "folder").string()}}, LMF_ERR_DATA,
               {config, "malformed JSON", "line 2"});
}

TEST_F(BadInput, WrongTypeInTokenizerConfigNamesTheField) {
  write("folder/tokenizer.model", model_bytes());
  const std::string config = write("folder/tokenizer_config.json", R"({"add_bos_token": "yes"})");
  expect_fails({{"path", (dir_.path() / "folder").string()}}, LMF_ERR_DATA,
               {config, "\"add_bos_token\"", "\"yes\""});
  const std::string map = write("folder/special_tokens_map.json", R"({"eos_token": 2})");
  std::filesystem::remove(config);
  expect_fails({{"path", (dir_.path() / "folder").string()}, {"add_eos_token", true}}, LMF_ERR_DATA,
               {map, "\"eos_token\""});
}

TEST_F(BadInput, ATokenThatIsNoPieceIsNamed) {
  const std::string model = (spt::fixtures() / "tiny_bpe.model").string();
  expect_fails({{"path", model}, {"bos_token", "<nope>"}}, LMF_ERR_INVALID_ARGUMENT,
               {"bos_token", "\"<nope>\"", model});
  expect_fails({{"path", model}, {"add_eos_token", true}, {"eos_token", "<|eot|>"}},
               LMF_ERR_INVALID_ARGUMENT, {"eos_token", "\"<|eot|>\""});
}

TEST_F(BadInput, TheSchemaNamesUnknownAndMistypedFields) {
  const std::string model = (spt::fixtures() / "tiny_bpe.model").string();
  EXPECT_EQ(schema_issues({{"path", model}}), "");
  EXPECT_TRUE(Contains(schema_issues({{"path", model}, {"model_file", model}}), "model_file"));
  EXPECT_TRUE(Contains(schema_issues({{"path", 3}}), "/path"));
  EXPECT_TRUE(
      Contains(schema_issues({{"path", model}, {"add_bos_token", "yes"}}), "/add_bos_token"));
  EXPECT_TRUE(
      Contains(schema_issues({{"path", model}, {"invalid_utf8", "ignore"}}), "/invalid_utf8"));
  EXPECT_TRUE(Contains(schema_issues(json::object()), "path"));
}

TEST_F(BadInput, StrictUtf8RefusesInvalidTextWithItsOffset) {
  const tk::Subject subject = spt::encode_subject(
      plugin_.component(),
      {{"path", (spt::fixtures() / "tiny_bpe.model").string()}, {"invalid_utf8", "error"}},
      {{"invalid",
        "ab\xFF"
        "ab"}},
      {{}}, [](const std::vector<int32_t>&) { return std::vector<int32_t>{}; });
  const tk::Failures failures = tk::check_encode(subject);
  ASSERT_EQ(failures.size(), 2u) << "encode fails with and without special tokens";
  for (const std::string& failure : failures) {
    EXPECT_TRUE(Contains(failure, "bad data"));
    EXPECT_TRUE(Contains(failure, "not valid UTF-8 (byte offset 2)"));
  }
}

}  // namespace
