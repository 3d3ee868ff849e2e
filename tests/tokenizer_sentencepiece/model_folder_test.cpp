// A Hugging Face model folder: tokenizer.model with tokenizer_config.json and
// special_tokens_map.json beside it, whose add_bos_token, add_eos_token, bos_token and
// eos_token decide what LMF_TOKENIZE_ADD_SPECIAL adds, as transformers' LlamaTokenizer
// reads them; the plugin's config overrides them. Expected ids without special tokens are
// the reference's (tiny_bpe_special_tokens.expected.json); each test says what the files
// add around them.
#include "tests/support/temp_dir.h"
#include "tests/tokenizer_sentencepiece/spm_plugin.h"

#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace spt = lmf::testing::sentencepiece;
namespace tk = lmf::conformance::tokenizer;
using nlohmann::json;

// Piece ids of tiny_bpe.model (train_models.sh: unk, bos, eos, then its control symbol).
constexpr int32_t kBos = 1, kEos = 2, kEndOfText = 3;

class ModelFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::copy_file(spt::fixtures() / "tiny_bpe.model", dir_.path() / "tokenizer.model");
    reference_ = tk::read_expected(spt::fixtures() / "tiny_bpe_special_tokens.expected.json");
    corpus_ = tk::read_corpus(spt::tokenizer_fixtures() / reference_.corpus);
  }
  void write(const std::string& name, const json& content) {
    std::ofstream(dir_.path() / name, std::ios::trunc) << content.dump(2);
  }
  // check_encode with the reference's ids for flags 0 and `around` of them for
  // LMF_TOKENIZE_ADD_SPECIAL.
  void expect_encodes(const json& config, const std::vector<int32_t>& before,
                      const std::vector<int32_t>& after) {
    std::vector<tk::CorpusText> texts;
    std::vector<std::vector<int32_t>> ids;
    for (const tk::CorpusText& text : corpus_)
      for (const tk::ExpectedCase& c : reference_.cases)
        if (c.name == text.name && !c.hashed) {  // the long text's ids are only a hash
          texts.push_back(text);
          ids.push_back(c.ids);
        }
    ASSERT_GT(texts.size(), 20u);
    const tk::Subject subject = spt::encode_subject(
        plugin_.component(), config, texts, ids, [&](const std::vector<int32_t>& plain) {
          std::vector<int32_t> out = before;
          out.insert(out.end(), plain.begin(), plain.end());
          out.insert(out.end(), after.begin(), after.end());
          return out;
        });
    for (const std::string& failure : tk::check_encode(subject)) ADD_FAILURE() << failure;
  }

  lmf::testing::TempDir dir_{"lmf_spm_folder"};
  spt::SpmPlugin plugin_;
  tk::Expected reference_;
  std::vector<tk::CorpusText> corpus_;
};

TEST_F(ModelFolder, WithoutConfigFilesAddsTheModelsBosAsLlamaTokenizerDoes) {
  expect_encodes({{"path", dir_.path().string()}}, {kBos}, {});
}

TEST_F(ModelFolder, TokenizerConfigDecidesBosAndEos) {
  write("tokenizer_config.json",
        {{"add_bos_token", false}, {"add_eos_token", true}, {"tokenizer_class", "LlamaTokenizer"}});
  expect_encodes({{"path", dir_.path().string()}}, {}, {kEos});
}

TEST_F(ModelFolder, SpecialTokensMapNamesTheBosAsAnAddedTokenObject) {
  write("special_tokens_map.json",
        {{"bos_token", {{"content", "<|endoftext|>"}, {"lstrip", false}, {"rstrip", false}}}});
  expect_encodes({{"path", dir_.path().string()}}, {kEndOfText}, {});
}

TEST_F(ModelFolder, TheConfigOverridesTheFiles) {
  write("tokenizer_config.json", {{"add_bos_token", false}, {"eos_token", "<|endoftext|>"}});
  expect_encodes({{"path", (dir_.path() / "tokenizer.model").string()},
                  {"add_bos_token", true},
                  {"bos_token", "</s>"},
                  {"add_eos_token", true}},
                 {kEos}, {kEndOfText});
}

}  // namespace
