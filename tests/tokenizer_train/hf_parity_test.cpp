// Training and the trained files against Hugging Face tokenizers, from the fixtures that
// tests/fixtures/tokenizers/train/generate_expected.mjs made with it:
// - hf_trained.json: what HF's BpeTrainer learned from corpus.txt; we must learn the same;
// - lmforge_trained.expected.json: what HF encodes and decodes with the tokenizer.json that
//   `lmforge tokenizer train` wrote (lmforge_trained/); our plugin must agree with it.
#include "tests/tokenizer_train/hf_instance.h"

#include "tests/conformance/tokenizer/tokenizer_checks.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

namespace lmf::tokenizer_train_test {
namespace {

namespace tk = lmf::conformance::tokenizer;
using lmf::testing::TempDir;

// Where two lists first differ, for a readable failure instead of thousands of items.
template <class T, class Show>
::testing::AssertionResult same_lists(const std::vector<T>& ours, const std::vector<T>& hf,
                                      Show&& show) {
  const size_t common = std::min(ours.size(), hf.size());
  for (size_t i = 0; i < common; ++i)
    if (!(ours[i] == hf[i]))
      return ::testing::AssertionFailure()
             << "item " << i << " differs: ours " << show(ours[i]) << ", HF's " << show(hf[i]);
  if (ours.size() != hf.size())
    return ::testing::AssertionFailure()
           << "ours has " << ours.size() << " items, HF's " << hf.size();
  return ::testing::AssertionSuccess();
}
std::string show_token(const std::string& token) {
  return json(token).dump();
}
std::string show_merge(const std::pair<std::string, std::string>& merge) {
  return json({merge.first, merge.second}).dump();
}

BpeFile train_and_read(const json& options) {
  HfInstance tokenizer;
  TextList texts(lines_with_endings(kTrainFixtures / "corpus.txt"));
  const Outcome trained = tokenizer.train(texts, options);
  if (!trained.ok()) throw std::runtime_error("train: " + trained.message);
  TempDir temp;
  const Outcome saved = tokenizer.save(temp.path());
  if (!saved.ok()) throw std::runtime_error("save: " + saved.message);
  return read_bpe(temp.path() / "tokenizer.json");
}

// HF's BpeTrainer with its defaults (the only training its Node binding offers): every merge
// the corpus allows, down to pairs seen once, in HF's order, and the same ids.
TEST(HfParity, LearnsTheVocabularyAndMergesHuggingFaceLearns) {
  const BpeFile hf = read_bpe(kTrainFixtures / "hf_trained.json");
  ASSERT_GT(hf.merges.size(), 5000u) << "the fixture should hold thousands of merges";
  const BpeFile ours = train_and_read({{"vocab_size", 30000},
                                       {"min_frequency", 0},
                                       {"special_tokens", json::array()},
                                       {"initial_alphabet", "seen"}});
  EXPECT_TRUE(same_lists(ours.tokens, hf.tokens, show_token));
  EXPECT_TRUE(same_lists(ours.merges, hf.merges, show_merge));
}

// With special tokens and all 256 byte symbols the ids of the alphabet and of every merged
// token move up, but keep their order, so each tie is broken as before and the merges are
// HF's, in HF's order, up to the vocabulary size (here 2000 - 4 - 256 = 1740 merges, all of
// pairs seen at least min_frequency = 2 times).
TEST(HfParity, SpecialTokensAndTheByteAlphabetKeepHuggingFacesMergeOrder) {
  const BpeFile hf = read_bpe(kTrainFixtures / "hf_trained.json");
  const BpeFile ours = train_and_read({{"vocab_size", 2000}, {"min_frequency", 2}});
  ASSERT_EQ(ours.tokens.size(), 2000u);
  ASSERT_EQ(ours.merges.size(), 1740u);
  ASSERT_GE(hf.merges.size(), 1740u);
  const std::vector<std::pair<std::string, std::string>> hf_first(hf.merges.begin(),
                                                                  hf.merges.begin() + 1740);
  EXPECT_TRUE(same_lists(ours.merges, hf_first, show_merge));
  // HF's tokens after its alphabet (the characters the corpus uses) are made by the merges.
  const size_t hf_alphabet = hf.tokens.size() - hf.merges.size();
  const std::vector<std::string> hf_made(hf.tokens.begin() + hf_alphabet,
                                         hf.tokens.begin() + hf_alphabet + 1740);
  const std::vector<std::string> ours_made(ours.tokens.begin() + 260, ours.tokens.end());
  EXPECT_TRUE(same_lists(ours_made, hf_made, show_token));
}

// HF loading the tokenizer.json lmforge wrote: our plugin gives the ids and texts HF gave,
// for every text of the tokenizer conformance corpus (special tokens in the text, invalid
// UTF-8, 100 KB of text, random mixes).
class HfReadsOurFile : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path fixtures = fs::path(LMF_TEST_FIXTURES_DIR) / "tokenizers";
    subject_.expected = tk::read_expected(kTrainFixtures / "lmforge_trained.expected.json");
    subject_.component = *loaded_plugin().hf;
    subject_.config = {{"path", (fixtures / subject_.expected.fixture).string()}};
    subject_.corpus = tk::read_corpus(fixtures / "corpus.jsonl");
    subject_.label = "lmforge_trained (hf)";
    ASSERT_GT(subject_.expected.cases.size(), 200u);
  }
  void expect_none(const tk::Failures& failures) {
    for (size_t i = 0; i < failures.size() && i < 20; ++i) ADD_FAILURE() << failures[i];
    EXPECT_TRUE(failures.empty()) << failures.size() << " failures; expected values from "
                                  << subject_.expected.reference;
  }
  tk::Subject subject_;
};

TEST_F(HfReadsOurFile, EncodesAsHuggingFace) {
  expect_none(tk::check_encode(subject_));
}
TEST_F(HfReadsOurFile, DecodesAsHuggingFace) {
  expect_none(tk::check_decode(subject_));
}
TEST_F(HfReadsOurFile, HasHuggingFacesVocabularyAndSpecialTokens) {
  expect_none(tk::check_vocabulary(subject_));
  EXPECT_EQ(subject_.expected.vocab_size, 2000u);
  ASSERT_GE(subject_.expected.tokens.size(), 4u);
  EXPECT_EQ(subject_.expected.tokens[0].token, "<bos>");
  EXPECT_EQ(subject_.expected.tokens[0].id, 0);
  EXPECT_TRUE(subject_.expected.tokens[0].special);
}

}  // namespace
}  // namespace lmf::tokenizer_train_test
