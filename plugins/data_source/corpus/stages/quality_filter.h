// Length and quality filters (Note [Quality measures]).
#pragma once

#include "stages/stage.h"

#include <cstdint>
#include <string_view>

namespace lmf::data {

// Note [Quality measures]
// On the rendered text of a record, after the stages before this one:
//   chars    code points that are not white space;
//   words    Note [CJK-aware words] (one per CJK character, one per run of other letters,
//            marks and digits);
//   symbol_word_ratio = symbols / words, symbols as script::is_symbol (S* categories and
//            ASCII # @ \ _): junk like "==== ★★★ ####" scores high, prose near 0;
//            infinite when there are symbols and no words; only judged when words >=
//            ratio_min_words, because two symbols in a three-word title mean nothing;
//   repeated_line_ratio = (non-empty lines equal to an earlier line of the same record,
//            after trimming white space) / (non-empty lines): boilerplate, menus, logs.
// A record is dropped with the first failing reason, in this order: too_few_chars
// (chars < min_chars), too_many_chars (max_chars > 0 and chars > max_chars),
// too_few_words, too_many_words (likewise), symbol_word_ratio (> max_symbol_word_ratio,
// when that is > 0), repeated_line_ratio (> max_repeated_line_ratio, when > 0).
struct QualityOptions {
  uint64_t min_chars = 1;
  uint64_t max_chars = 0;
  uint64_t min_words = 1;
  uint64_t max_words = 0;
  double max_symbol_word_ratio = 0.5;
  uint64_t ratio_min_words = 10;
  double max_repeated_line_ratio = 0.5;
};

struct QualityMeasures {
  uint64_t chars = 0, words = 0, symbols = 0;
  double symbol_word_ratio = 0.0;
  double repeated_line_ratio = 0.0;
};
QualityMeasures measure_quality(std::string_view text);

class QualityFilter final : public Stage {
 public:
  enum Reason {
    kTooFewChars,
    kTooManyChars,
    kTooFewWords,
    kTooManyWords,
    kSymbolWordRatio,
    kRepeatedLineRatio
  };
  explicit QualityFilter(QualityOptions options);
  Verdict process(Record& record, Tally& tally) const override;
  nlohmann::json params() const override;
  // The reason `text` fails, or -1 when it passes.
  int judge(std::string_view text) const;

 private:
  QualityOptions options_;
};

}  // namespace lmf::data
