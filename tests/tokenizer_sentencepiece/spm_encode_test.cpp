// With "split_special_tokens": true the plugin hands the whole text to libsentencepiece, so
// it must give the ids of Debian's spm_encode, an implementation it does not share code
// with at this level (spm_encode_ids.json, generate_spm_encode_ids.py). This is
// also the only check of a model with its own normalization rules, whitespace removal and
// no byte fallback (tiny_rules), which Hugging Face's Llama conversion cannot represent.
#include "tests/tokenizer_sentencepiece/spm_plugin.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

namespace {

namespace spt = lmf::testing::sentencepiece;
namespace tk = lmf::conformance::tokenizer;
using nlohmann::json;

struct SpmEncodeExpected {
  std::vector<tk::CorpusText> texts;
  std::map<std::string, std::vector<std::vector<int32_t>>> ids_by_model;
};

// The texts the expected file names, from their corpora, and the ids per model.
SpmEncodeExpected read_spm_encode_expected() {
  const std::filesystem::path file = spt::fixtures() / "spm_encode_ids.json";
  std::ifstream in(file);
  const json root = json::parse(in);
  std::map<std::string, std::vector<tk::CorpusText>> corpora;
  SpmEncodeExpected out;
  for (const json& entry : root.at("cases")) {
    const std::string corpus = entry.at("corpus").get<std::string>();
    if (!corpora.contains(corpus))
      corpora[corpus] = tk::read_corpus(spt::tokenizer_fixtures() / corpus);
    const std::string name = entry.at("name").get<std::string>();
    for (const tk::CorpusText& text : corpora[corpus])
      if (text.name == name) out.texts.push_back({corpus + ":" + name, text.bytes});
  }
  for (const auto& [model, rows] : root.at("models").items())
    out.ids_by_model[model] = rows.get<std::vector<std::vector<int32_t>>>();
  return out;
}

class SpmEncodeIds : public ::testing::TestWithParam<std::string> {};

TEST_P(SpmEncodeIds, SplitSpecialTokensGivesTheIdsOfSpmEncode) {
  const std::string model = GetParam();
  const std::filesystem::path file =
      model == "llama2_spm" ? spt::llama2_model() : spt::fixtures() / (model + ".model");
  ASSERT_TRUE(std::filesystem::exists(file))
      << file << " is missing: run bash scripts/fetch-test-tokenizers.sh";
  const SpmEncodeExpected expected = read_spm_encode_expected();
  const auto& ids = expected.ids_by_model.at(model);
  ASSERT_EQ(ids.size(), expected.texts.size()) << "every case found in its corpus";
  ASSERT_GT(ids.size(), 50u);

  spt::SpmPlugin plugin;
  // Every model here has its bos at id 1 (train_models.sh, Llama-2).
  const tk::Subject subject = spt::encode_subject(
      plugin.component(), {{"path", file.string()}, {"split_special_tokens", true}}, expected.texts,
      ids, [](std::vector<int32_t> plain) {
        plain.insert(plain.begin(), 1);
        return plain;
      });
  for (const std::string& failure : tk::check_encode(subject)) ADD_FAILURE() << failure;
}

INSTANTIATE_TEST_SUITE_P(Models, SpmEncodeIds,
                         ::testing::Values("llama2_spm", "tiny_bpe", "tiny_unigram", "tiny_rules"));

}  // namespace
