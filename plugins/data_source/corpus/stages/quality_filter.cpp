#include "stages/quality_filter.h"

#include "text/script.h"

#include <limits>
#include <string>
#include <unordered_set>

namespace lmf::data {

namespace {

std::string_view trim(std::string_view line) {
  const char* spaces = " \t\r\f\v";
  const std::size_t begin = line.find_first_not_of(spaces);
  if (begin == std::string_view::npos) return {};
  return line.substr(begin, line.find_last_not_of(spaces) - begin + 1);
}

double repeated_line_ratio(std::string_view text) {
  std::unordered_set<std::string_view> seen;
  uint64_t lines = 0, repeated = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = trim(text.substr(start, end - start));
    if (!line.empty()) {
      ++lines;
      if (!seen.insert(line).second) ++repeated;
    }
    start = end + 1;
  }
  return lines == 0 ? 0.0 : static_cast<double>(repeated) / static_cast<double>(lines);
}

}  // namespace

QualityMeasures measure_quality(std::string_view text) {
  const script::TextStats stats = script::measure(text);
  QualityMeasures measures;
  measures.chars = stats.chars;
  measures.words = stats.words;
  measures.symbols = stats.symbols;
  measures.symbol_word_ratio =
      stats.words > 0     ? static_cast<double>(stats.symbols) / static_cast<double>(stats.words)
      : stats.symbols > 0 ? std::numeric_limits<double>::infinity()
                          : 0.0;
  measures.repeated_line_ratio = repeated_line_ratio(text);
  return measures;
}

QualityFilter::QualityFilter(QualityOptions options)
    : Stage("quality_filter", {"too_few_chars", "too_many_chars", "too_few_words", "too_many_words",
                               "symbol_word_ratio", "repeated_line_ratio"}),
      options_(options) {}

int QualityFilter::judge(std::string_view text) const {
  const QualityMeasures m = measure_quality(text);
  if (m.chars < options_.min_chars) return kTooFewChars;
  if (options_.max_chars > 0 && m.chars > options_.max_chars) return kTooManyChars;
  if (m.words < options_.min_words) return kTooFewWords;
  if (options_.max_words > 0 && m.words > options_.max_words) return kTooManyWords;
  if (options_.max_symbol_word_ratio > 0 && m.words >= options_.ratio_min_words &&
      m.symbol_word_ratio > options_.max_symbol_word_ratio)
    return kSymbolWordRatio;
  if (options_.max_repeated_line_ratio > 0 &&
      m.repeated_line_ratio > options_.max_repeated_line_ratio)
    return kRepeatedLineRatio;
  return -1;
}

Verdict QualityFilter::process(Record& record, Tally& tally) const {
  const int reason = judge(record.text());
  if (reason < 0) return Verdict::keep;
  ++tally.dropped;
  ++tally.reasons[static_cast<std::size_t>(reason)];
  return Verdict::drop;
}

nlohmann::json QualityFilter::params() const {
  return {{"min_chars", options_.min_chars},
          {"max_chars", options_.max_chars},
          {"min_words", options_.min_words},
          {"max_words", options_.max_words},
          {"max_symbol_word_ratio", options_.max_symbol_word_ratio},
          {"ratio_min_words", options_.ratio_min_words},
          {"max_repeated_line_ratio", options_.max_repeated_line_ratio}};
}

}  // namespace lmf::data
