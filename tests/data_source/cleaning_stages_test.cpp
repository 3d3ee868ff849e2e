// The transforming stages one by one: Unicode normalization, white space, control and junk
// characters, URL stripping; and the UTF-8 and word-counting helpers they stand on.
#include "stages/control_chars.h"
#include "stages/stage_factory.h"
#include "stages/unicode_normalize.h"
#include "stages/url_strip.h"
#include "stages/whitespace.h"
#include "text/script.h"
#include "text/utf8.h"

#include <gtest/gtest.h>

namespace lmf::data {
namespace {

// Runs a transforming stage on one text; returns the text and fills `tally`.
std::string run(const Stage& stage, std::string text, Tally* tally_out = nullptr) {
  Record record;
  record.parts = {std::move(text)};
  Tally tally = stage.make_tally();
  EXPECT_EQ(stage.process(record, tally), Verdict::keep);
  if (tally_out != nullptr) *tally_out = tally;
  return record.parts[0];
}

TEST(Utf8, RepairReplacesEachMaximalIllFormedSubpartOnce) {
  std::string text = "ok \xFF\xFE end";
  EXPECT_EQ(utf8::first_invalid(text), 3u);
  EXPECT_EQ(utf8::repair(text), 2u);
  EXPECT_EQ(text, "ok \uFFFD\uFFFD end");
  // A truncated 3-byte sequence (E4 B8 of 中) is one maximal subpart: one U+FFFD.
  std::string truncated = "\xE4\xB8 x";
  EXPECT_EQ(utf8::repair(truncated), 1u);
  EXPECT_EQ(truncated, "\uFFFD x");
  // Overlong encodings and surrogates are ill-formed.
  EXPECT_EQ(utf8::first_invalid("\xC0\xAF"), 0u);
  EXPECT_EQ(utf8::first_invalid("\xED\xA0\x80"), 0u);
  EXPECT_EQ(utf8::first_invalid("中文 English 😀"), std::string::npos);
}

TEST(Script, WordsCountEachCjkCharacterAndEachRunOfOtherLetters) {
  EXPECT_EQ(script::measure("Hello world 你好").words, 4u);
  EXPECT_EQ(script::measure("2024年，深圳。").words, 4u);  // 2024 年 深 圳
  EXPECT_EQ(script::measure("don't").words, 2u);
  const script::TextStats stats = script::measure("a = b + c ★");
  EXPECT_EQ(stats.words, 3u);
  EXPECT_EQ(stats.symbols, 3u);
  EXPECT_EQ(stats.chars, 6u);
}

TEST(UnicodeNormalize, NfkcFoldsFullWidthLettersDigitsAndPunctuation) {
  EXPECT_EQ(normalize("ＡＢＣ１２３！", NormalForm::nfkc), "ABC123!");
  EXPECT_EQ(normalize("你好，世界", NormalForm::nfkc), "你好,世界");
  EXPECT_EQ(normalize("ﬁ ①", NormalForm::nfkc), "fi 1");
  // NFC composes but keeps compatibility characters.
  EXPECT_EQ(normalize("e\u0301", NormalForm::nfc), "\u00E9");
  EXPECT_EQ(normalize("ＡＢＣ，", NormalForm::nfc), "ＡＢＣ，");
}

TEST(UnicodeNormalize, CountsChangedRecordsOnly) {
  UnicodeNormalize stage(NormalForm::nfkc);
  Tally tally;
  EXPECT_EQ(run(stage, "plain ascii", &tally), "plain ascii");
  EXPECT_EQ(tally.changed, 0u);
  EXPECT_EQ(run(stage, "Ｈｉ", &tally), "Hi");
  EXPECT_EQ(tally.changed, 1u);
}

TEST(Whitespace, CollapsesSpacesKeepsParagraphsAndTrims) {
  EXPECT_EQ(normalize_whitespace("  a \t b\u3000c  \r\n\r\n\r\n  d  ", true), "a b c\n\nd");
  EXPECT_EQ(normalize_whitespace("line one\r\nline two\rline three", true),
            "line one\nline two\nline three");
  EXPECT_EQ(normalize_whitespace("  a \t b\u3000c  \r\n\r\n\r\n  d  ", false), "a b c d");
  EXPECT_EQ(normalize_whitespace("\u00A0non\u2003breaking\u00A0", true), "non breaking");
  EXPECT_EQ(normalize_whitespace("", true), "");
  EXPECT_EQ(normalize_whitespace(" \n\t ", true), "");
}

TEST(ControlChars, RemovesControlsFormatAndPrivateUseButKeepsEmojiJoiners) {
  ControlChars stage(JunkOptions{});
  Tally tally;
  const std::string family = "👨\u200D👩\u200D👧";
  EXPECT_EQ(run(stage,
                "a\x01"
                "b\x7F"
                "c\u200Bd\uFEFF\uE000e\u00ADf\tg\n" +
                    family,
                &tally),
            "abcdef\tg\n" + family);
  EXPECT_EQ(tally.changed, 1u);
  EXPECT_EQ(tally.reasons[ControlChars::kControl], 2u);
  EXPECT_EQ(tally.reasons[ControlChars::kFormat], 3u);  // ZWSP, BOM, soft hyphen
  EXPECT_EQ(tally.reasons[ControlChars::kPrivateUse], 1u);
  EXPECT_EQ(run(stage, "中文，标点！保留。"), "中文，标点！保留。");
}

TEST(ControlChars, CutsLongSymbolRunsWhenAsked) {
  JunkOptions options;
  options.max_symbol_run = 3;
  options.remove_replacement_char = true;
  ControlChars stage(options);
  Tally tally;
  EXPECT_EQ(run(stage, "title\n==========\n★★★★★ ok\uFFFD", &tally), "title\n===\n★★★ ok");
  EXPECT_EQ(tally.reasons[ControlChars::kSymbolRun], 9u);
  EXPECT_EQ(tally.reasons[ControlChars::kReplacementChar], 1u);
}

TEST(UrlStrip, RemovesUrlsAndKeepsTheSentenceAroundThem) {
  UrlStrip stage("");
  Tally tally;
  EXPECT_EQ(run(stage, "详见https://example.com/a?b=1获取更多信息", &tally), "详见获取更多信息");
  EXPECT_EQ(tally.reasons[0], 1u);
  EXPECT_EQ(
      run(stage, "See http://example.org/x. Then www.example.com/docs, and ftp://f.example.net!"),
      "See . Then , and !");
  EXPECT_EQ(run(stage, "(wiki: https://en.wikipedia.org/wiki/Foo_(bar))"), "(wiki: )");
  EXPECT_EQ(run(stage, "[link](https://example.com/page)"), "[link]()");
}

TEST(UrlStrip, LeavesTextsWithoutUrlsAlone) {
  UrlStrip stage("<url>");
  Tally tally;
  for (const char* text : {"example.com is a domain", "write to admin@www.example.com",
                           "http:// alone", "version 1.2.3", "https是一种协议"}) {
    EXPECT_EQ(run(stage, text, &tally), text);
  }
  EXPECT_EQ(tally.changed, 0u);
  EXPECT_EQ(run(stage, "go to https://example.com now"), "go to <url> now");
}

TEST(StageFactory, BuildsStagesFromNamesAndObjectsAndNamesBadFields) {
  auto stages = make_stages(nlohmann::json::parse(
      R"(["whitespace", {"stage": "unicode_normalize", "form": "NFKC"}, {"stage": "near_dedup"}])"));
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_EQ(stages[1]->params()["form"], "NFKC");
  EXPECT_TRUE(stages[2]->stateful());
  try {
    make_stages(nlohmann::json::parse(R"([{"stage": "quality_filter", "min_chars": -1}])"));
    FAIL() << "a negative min_chars was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("stages/0/min_chars"), std::string::npos) << e.what();
  }
  try {
    make_stages(nlohmann::json::parse(R"(["spellcheck"])"));
    FAIL() << "an unknown stage was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("unknown stage \"spellcheck\""), std::string::npos);
  }
}

}  // namespace
}  // namespace lmf::data
