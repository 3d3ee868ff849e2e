// The quality filter's measures and thresholds (Note [Quality measures]).
#include "stages/quality_filter.h"

#include <gtest/gtest.h>

namespace lmf::data {
namespace {

TEST(QualityMeasures, CountCharactersWordsSymbolsAndRepeatedLines) {
  const QualityMeasures m = measure_quality("华为成立于1987年。\nHello, world!");
  EXPECT_EQ(m.chars, 23u);  // 华为成立于1987年。 11, "Hello," 6, "world!" 6
  EXPECT_EQ(m.words, 9u);   // 华 为 成 立 于 1987 年 + Hello world
  EXPECT_EQ(m.symbols, 0u);
  const QualityMeasures repeated = measure_quality("menu\nhome\nmenu\n  menu  \n\ncontent");
  EXPECT_DOUBLE_EQ(repeated.repeated_line_ratio, 2.0 / 5.0);
  const QualityMeasures junk = measure_quality("### *** ### price $$$ = 5 + 6");
  EXPECT_EQ(junk.words, 3u);
  EXPECT_EQ(junk.symbols, 11u);  // # # # # # # $ $ $ = + ('*' is not a symbol)
}

TEST(QualityFilter, LengthThresholdsCountCharactersAndCjkAwareWords) {
  QualityOptions options;
  options.min_chars = 5;
  options.max_chars = 20;
  options.min_words = 3;
  options.max_words = 10;
  const QualityFilter filter(options);
  EXPECT_EQ(filter.judge("abcd"), QualityFilter::kTooFewChars);
  EXPECT_EQ(filter.judge(std::string(21, 'x')), QualityFilter::kTooManyChars);
  EXPECT_EQ(filter.judge("hello world"), QualityFilter::kTooFewWords);  // 10 chars, 2 words
  EXPECT_EQ(filter.judge("你好世界啊"), -1);  // 5 characters are 5 words: no spaces needed
  EXPECT_EQ(filter.judge("一二三四五六七八九十十一"), QualityFilter::kTooManyWords);
  EXPECT_EQ(filter.judge("three small words"), -1);
}

TEST(QualityFilter, SymbolRatioNeedsEnoughWordsAndDropsJunk) {
  QualityOptions options;
  options.max_symbol_word_ratio = 0.5;
  options.ratio_min_words = 4;
  options.max_repeated_line_ratio = 0;
  const QualityFilter filter(options);
  EXPECT_EQ(filter.judge("C++ is great"), -1);  // 3 words: too short to judge the ratio
  // 4 words, 12 symbols.
  EXPECT_EQ(filter.judge("=== ### menu *** home ### news *** about ==="),
            QualityFilter::kSymbolWordRatio);
  EXPECT_EQ(filter.judge("a + b = c, and c - b = a."),
            -1);  // 7 words, 3 symbols ('-' is punctuation)
  EXPECT_EQ(filter.judge("★★★★★★"), QualityFilter::kTooFewWords);  // no word at all
}

TEST(QualityFilter, RepeatedLineRatioAboveTheThresholdDrops) {
  QualityOptions options;
  options.max_repeated_line_ratio = 0.5;
  const QualityFilter filter(options);
  EXPECT_EQ(filter.judge("a\nb\na"), -1);             // 1/3
  EXPECT_EQ(filter.judge("a\na"), -1);                // 1/2 is not above 0.5
  EXPECT_EQ(filter.judge("log\nlog\nlog\nend"), -1);  // 2/4
  EXPECT_EQ(filter.judge("log\nlog\nlog\nlog\nend"), QualityFilter::kRepeatedLineRatio);  // 3/5
}

TEST(QualityFilter, StageCountsOneReasonPerDroppedRecord) {
  QualityFilter filter(QualityOptions{});
  Tally tally = filter.make_tally();
  for (const char* text : {"", "!!!", "fine text here", "x\nx\nx"}) {
    Record record;
    record.parts = {text};
    filter.process(record, tally);
  }
  EXPECT_EQ(tally.dropped, 3u);
  EXPECT_EQ(tally.reasons[QualityFilter::kTooFewChars], 1u);
  EXPECT_EQ(tally.reasons[QualityFilter::kTooFewWords], 1u);
  EXPECT_EQ(tally.reasons[QualityFilter::kRepeatedLineRatio], 1u);
}

}  // namespace
}  // namespace lmf::data
