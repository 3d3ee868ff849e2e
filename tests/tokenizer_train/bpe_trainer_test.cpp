// The BPE trainer on corpora small enough to work out by hand (each test's comment does),
// and the word counter. Words are given already counted, as raw bytes; the trainer spells
// them in the byte-level alphabet, where every letter used here stands for itself.
#include "plugins/tokenizer/hf/bpe_trainer.h"
#include "plugins/tokenizer/hf/word_counter.h"

#include <lmf/sdk/error.h>

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace lmf::tokenizers::hf {
namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

BpeTrainerOptions seen_alphabet(uint32_t vocab_size, uint64_t min_frequency,
                                std::vector<std::string> specials = {}) {
  BpeTrainerOptions options;
  options.vocab_size = vocab_size;
  options.min_frequency = min_frequency;
  options.special_tokens = std::move(specials);
  options.byte_alphabet = false;
  return options;
}

TrainedBpe train(const WordCounts& words, const BpeTrainerOptions& options) {
  TrainingMonitor quiet;
  return train_bpe(words, options, quiet);
}

Merges merges_of(const TrainedBpe& bpe) {
  Merges merges;
  for (const auto& [left, right] : bpe.merges)
    merges.emplace_back(bpe.tokens.at(left), bpe.tokens.at(right));
  return merges;
}

// Hugging Face's own test of its trainer (trainer.rs, test_train), with the vocabulary and
// merges it asserts. By hand: "r e" is the most frequent pair (are ×2, red ×1: 3); then
// "a re" and "i s" tie at 2 and the smaller pair of ids goes first: (a=8, re=22) before
// (i=13, s=18); every other pair is seen once, under min_frequency 2.
TEST(BpeTrainer, LearnsWhatHuggingFacesOwnTestExpects) {
  const WordCounts words = {{"roses", 1}, {"are", 2},  {"red", 1},  {"voilets", 1},
                            {"blue", 1},  {"BERT", 1}, {"is", 2},   {"big", 1},
                            {"and", 1},   {"so", 1},   {"GPT-2", 1}};
  const TrainedBpe bpe = train(words, seen_alphabet(30000, 2));
  const std::vector<std::string> expected = {"-", "2", "B", "E", "G",  "P",   "R", "T", "a",
                                             "b", "d", "e", "g", "i",  "l",   "n", "o", "r",
                                             "s", "t", "u", "v", "re", "are", "is"};
  EXPECT_EQ(bpe.tokens, expected);
  EXPECT_EQ(merges_of(bpe), (Merges{{"r", "e"}, {"a", "re"}, {"i", "s"}}));
  EXPECT_EQ(bpe.special_count, 0u);
  EXPECT_EQ(bpe.alphabet_count, 22u);
}

// Ties go to the smaller pair of ids, and a merged token's id is when it was made, not its
// text. Pair counts: "y y" 10 + 2 = 12, "a a" 8 + 2 = 10, "y b" 2, "a b" 2. Ids: a=0, b=1,
// y=2, then yy=3 and aa=4. After those two merges "yy b" and "aa b" tie at 2: (3, 1) comes
// before (4, 1), although "aa" sorts before "yy" as text.
TEST(BpeTrainer, BreaksTiesByIdsNotByText) {
  const WordCounts words = {{"yy", 10}, {"aa", 8}, {"yyb", 2}, {"aab", 2}};
  const TrainedBpe bpe = train(words, seen_alphabet(30000, 0));
  EXPECT_EQ(merges_of(bpe), (Merges{{"y", "y"}, {"a", "a"}, {"yy", "b"}, {"aa", "b"}}));
  EXPECT_EQ(bpe.tokens, (std::vector<std::string>{"a", "b", "y", "yy", "aa", "yyb", "aab"}));
}

// Among equal counts at the start, alphabet order decides: ids follow the byte-level
// characters' code points. "c d", "a b" and "b c"... each once: "a b" (0, 1) first, then
// "c d" (2, 3); "b c" is gone, since b and c were taken by those merges in "abcd".
TEST(BpeTrainer, EqualCountsGoInAlphabetOrder) {
  const WordCounts words = {{"abcd", 1}};
  const TrainedBpe bpe = train(words, seen_alphabet(30000, 0));
  EXPECT_EQ(merges_of(bpe), (Merges{{"a", "b"}, {"c", "d"}, {"ab", "cd"}}));
}

// The space is byte 0x20, but its byte-level character is "Ġ" (U+0120), which sorts after
// "a" (U+0061): ids follow the characters, not the bytes.
TEST(BpeTrainer, AlphabetIsSortedByByteLevelCharacter) {
  const WordCounts words = {{" a", 3}, {"a", 1}};
  const TrainedBpe bpe = train(words, seen_alphabet(30000, 0));
  ASSERT_GE(bpe.tokens.size(), 3u);
  EXPECT_EQ(bpe.tokens[0], "a");
  EXPECT_EQ(bpe.tokens[1], "\xC4\xA0");  // Ġ
  EXPECT_EQ(bpe.tokens[2],
            "\xC4\xA0"
            "a");
}

// With the byte alphabet all 256 symbols follow the special tokens: first the 188
// printable Latin-1 characters that stand for themselves ("!" … "~", "¡" … "¬", "®" … "ÿ"),
// then the 68 others in byte order from U+0100: byte 0x00 is "Ā", byte 0x20 is "Ġ".
TEST(BpeTrainer, ByteAlphabetHasAll256SymbolsAfterTheSpecialTokens) {
  BpeTrainerOptions options = seen_alphabet(300, 0, {"<bos>", "<eos>", "<pad>", "<unk>"});
  options.byte_alphabet = true;
  const TrainedBpe bpe = train({{"ab", 1}}, options);
  ASSERT_EQ(bpe.tokens.size(), 4u + 256u + 1u);
  EXPECT_EQ(bpe.special_count, 4u);
  EXPECT_EQ(bpe.alphabet_count, 256u);
  EXPECT_EQ((std::vector<std::string>(bpe.tokens.begin(), bpe.tokens.begin() + 4)),
            (std::vector<std::string>{"<bos>", "<eos>", "<pad>", "<unk>"}));
  EXPECT_EQ(bpe.tokens[4], "!");
  EXPECT_EQ(bpe.tokens[4 + 93], "~");
  EXPECT_EQ(bpe.tokens[4 + 94], "\xC2\xA1");        // ¡ (byte 0xA1)
  EXPECT_EQ(bpe.tokens[4 + 188], "\xC4\x80");       // Ā (byte 0x00)
  EXPECT_EQ(bpe.tokens[4 + 188 + 32], "\xC4\xA0");  // Ġ (byte 0x20)
  EXPECT_EQ(bpe.tokens[4 + 255], "\xC5\x83");       // Ń (byte 0xAD, the last)
  EXPECT_EQ(bpe.tokens.back(), "ab");
}

// min_frequency: "a b" ×3, "c d" ×2, "e f" ×1. With 2, the first two are merged; with 3,
// only the first; with 0 or 1, all three.
TEST(BpeTrainer, MinFrequencyStopsAtTheFirstRarerPair) {
  const WordCounts words = {{"ab", 3}, {"cd", 2}, {"ef", 1}};
  const TrainedBpe two = train(words, seen_alphabet(100, 2));
  EXPECT_EQ(merges_of(two), (Merges{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(two.stop, TrainingStop::kMinFrequency);
  EXPECT_EQ(merges_of(train(words, seen_alphabet(100, 3))), (Merges{{"a", "b"}}));
  EXPECT_EQ(merges_of(train(words, seen_alphabet(100, 1))),
            (Merges{{"a", "b"}, {"c", "d"}, {"e", "f"}}));
  const TrainedBpe zero = train(words, seen_alphabet(100, 0));
  EXPECT_EQ(merges_of(zero), (Merges{{"a", "b"}, {"c", "d"}, {"e", "f"}}));
  EXPECT_EQ(zero.stop, TrainingStop::kNothingToMerge) << "every word is one token";
}

// vocab_size counts every token: 6 letters + 2 merges = 8 stops after "c d".
TEST(BpeTrainer, VocabSizeStopsTheMerges) {
  const WordCounts words = {{"ab", 3}, {"cd", 2}, {"ef", 1}};
  const TrainedBpe bpe = train(words, seen_alphabet(8, 0));
  EXPECT_EQ(bpe.tokens.size(), 8u);
  EXPECT_EQ(merges_of(bpe), (Merges{{"a", "b"}, {"c", "d"}}));
  EXPECT_EQ(bpe.stop, TrainingStop::kVocabularyFull);
  // Exactly the initial vocabulary: no merge at all.
  EXPECT_TRUE(train(words, seen_alphabet(6, 0)).merges.empty());
}

TEST(BpeTrainer, VocabSizeBelowTheInitialVocabularyIsRefused) {
  const WordCounts words = {{"ab", 3}, {"cd", 2}};
  try {
    train(words, seen_alphabet(5, 0, {"<bos>", "<eos>"}));
    FAIL() << "vocab_size 5 was accepted for 2 special tokens and 4 letters";
  } catch (const lmf::sdk::Error& e) {
    EXPECT_EQ(e.code(), LMF_ERR_INVALID_ARGUMENT);
    EXPECT_STREQ(e.what(),
                 "vocab_size 5 is smaller than the 2 special tokens and 4 byte symbols it must "
                 "hold (6)");
  }
}

// Special tokens take ids 0, 1, … in the order given; a merge that spells one of them
// reuses its id, as HF does (the vocabulary does not grow).
TEST(BpeTrainer, SpecialTokensComeFirstAndKeepTheirIds) {
  const WordCounts words = {{"ab", 3}, {"xy", 2}};
  const TrainedBpe bpe = train(words, seen_alphabet(100, 0, {"<s>", "ab"}));
  EXPECT_EQ(bpe.tokens, (std::vector<std::string>{"<s>", "ab", "a", "b", "x", "y", "xy"}));
  ASSERT_EQ(bpe.merges.size(), 2u);
  EXPECT_EQ(bpe.merges[0], (std::pair<int32_t, int32_t>{2, 3}));  // a b -> "ab", id 1
  EXPECT_EQ(bpe.merges[1], (std::pair<int32_t, int32_t>{4, 5}));
}

// Overlapping runs as HF's Word::merge counts them. "aaa" ×1: "a a" is seen twice. Merging
// the first makes [aa, a], breaks the second "a a" (-1: its count stays at 1, with no
// queue entry left) and makes "aa a" (+1): the next merge is "aa a" -> "aaa".
TEST(BpeTrainer, OverlappingPairsAreCountedAsHuggingFaceCountsThem) {
  const TrainedBpe bpe = train({{"aaa", 1}}, seen_alphabet(100, 0));
  EXPECT_EQ(merges_of(bpe), (Merges{{"a", "a"}, {"aa", "a"}}));
  // "aaaa": "a a" ×3 -> [aa, aa] (the middle one broken), then "aa aa".
  EXPECT_EQ(merges_of(train({{"aaaa", 1}}, seen_alphabet(100, 0))),
            (Merges{{"a", "a"}, {"aa", "aa"}}));
}

class RecordingMonitor : public TrainingMonitor {
 public:
  void begin(std::string_view label, int64_t total, std::string_view unit) override {
    labels.emplace_back(label);
    totals.push_back(total);
    units.emplace_back(unit);
  }
  void advance(int64_t delta) override { advanced += delta; }
  void end() override { ++ended; }
  bool cancelled() override { return ++checks > cancel_after_checks; }

  std::vector<std::string> labels, units;
  std::vector<int64_t> totals;
  int64_t advanced = 0;
  int ended = 0, checks = 0;
  int cancel_after_checks = 1 << 30;
};

// Enough distinct pairs for hundreds of merges: words of two letters from 26 × 26.
WordCounts many_pairs() {
  WordCounts words;
  for (char a = 'a'; a <= 'z'; ++a)
    for (char b = 'a'; b <= 'z'; ++b) words[std::string{a, b}] = 1 + static_cast<uint64_t>(a);
  return words;
}

TEST(BpeTrainer, ReportsProgressInTokensAdded) {
  RecordingMonitor monitor;
  const TrainedBpe bpe = train_bpe(many_pairs(), seen_alphabet(26 + 300, 0), monitor);
  ASSERT_EQ(monitor.labels, (std::vector<std::string>{"tokenizer train: merges"}));
  EXPECT_EQ(monitor.totals[0], 300);
  EXPECT_EQ(monitor.units[0], "tokens");
  EXPECT_EQ(monitor.advanced, 300);
  EXPECT_EQ(monitor.ended, 1);
  EXPECT_EQ(bpe.merges.size(), 300u);
}

// The monitor is asked every 64 merges; saying yes the second time stops after 128.
TEST(BpeTrainer, StopsWhenCancelled) {
  RecordingMonitor monitor;
  monitor.cancel_after_checks = 1;
  try {
    train_bpe(many_pairs(), seen_alphabet(26 + 600, 0), monitor);
    FAIL() << "training went on after cancellation";
  } catch (const lmf::sdk::Error& e) {
    EXPECT_EQ(e.code(), LMF_ERR_CANCELLED);
    EXPECT_STREQ(e.what(), "tokenizer training cancelled after 128 merges");
  }
}

// GPT-2's pattern splits the text; every piece is a word, spaces before words included.
// Invalid UTF-8 is replaced by U+FFFD first, as encode does.
TEST(WordCounter, SplitsAsTheByteLevelPreTokenizer) {
  WordCounter counter(1);
  counter.add({"Hello world, hello world!\n", "it's  2024\xFF"});
  const WordCounts counts = counter.take();
  const WordCounts expected = {{"Hello", 1}, {" world", 2}, {",", 1},           {" hello", 1},
                               {"!", 1},     {"\n", 1},     {"it", 1},          {"'s", 1},
                               {" ", 1},     {" 2024", 1},  {"\xEF\xBF\xBD", 1}};
  EXPECT_EQ(counts, expected);
}

TEST(WordCounter, CountsDoNotDependOnThreads) {
  std::vector<std::string> texts;
  for (int i = 0; i < 2000; ++i)
    texts.push_back("text " + std::to_string(i % 37) + " of " + std::string(1 + i % 5, 'x'));
  WordCounter one(1), four(4);
  one.add(texts);
  four.add(texts);
  EXPECT_EQ(four.texts(), 2000u);
  const WordCounts counts = one.take();
  EXPECT_EQ(counts, four.take());
  EXPECT_EQ(counts.at("text"), 2000u);
  EXPECT_EQ(counts.at(" of"), 2000u);
  EXPECT_EQ(counts.at(" xxxxx"), 400u);
}

}  // namespace
}  // namespace lmf::tokenizers::hf
