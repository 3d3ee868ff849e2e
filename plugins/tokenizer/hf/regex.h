// Regular expressions of tokenizer.json, matched with PCRE2 the way HF matches them with
// Oniguruma (Note [Regex dialect]).
#pragma once

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace lmf::tokenizers::hf {

// Note [Regex dialect]
// HF tokenizers compiles the patterns of tokenizer.json with Oniguruma (Ruby syntax, UTF-8)
// and the patterns of its own code with Rust's regex crate. PCRE2 (UTF + UCP, JIT) agrees
// with both on what these tokenizers use (\p{L}, \p{N}, \p{P}, \p{S}, \p{M}, (?i:...),
// lookahead, greedy and lazy quantifiers) once three escapes are rewritten:
// - \s and \S: Oniguruma means Unicode White_Space; PCRE2's \s adds U+180E. We spell the
//   White_Space set out (is_unicode_whitespace in utf8.h).
// - \w and \W: Oniguruma means UTS #18's word characters (Alphabetic, marks, decimal
//   digits, connector punctuation, joiners); PCRE2 10.42 means \p{L}, \p{N} and "_". We
//   spell Oniguruma's set out.
// - \h and \H: a hexadecimal digit in Ruby syntax, horizontal space in PCRE2.
// `^` and `$` are line anchors in Ruby syntax, hence PCRE2_MULTILINE; `\uHHHH` becomes
// `\x{HHHH}`. Matches are iterated as the onig crate does: an empty match right where the
// previous match ended is skipped. The Unicode tables may differ by a version (PCRE2 10.42
// has Unicode 14): only characters assigned since then can be classified differently.
class Regex {
 public:
  // Compiles `pattern`, written in Oniguruma's dialect; throws std::invalid_argument with
  // PCRE2's message and the offset of the problem.
  explicit Regex(std::string_view pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  const std::string& pattern() const { return pattern_; }

  // Match data for for_each_match, one per thread at a time (see Workspace).
  static pcre2_match_data* new_match_data();

  // Calls on_match(begin, end) for each match in `text` (byte offsets), in order.
  // `text` must be valid UTF-8.
  template <class OnMatch>
  void for_each_match(std::string_view text, pcre2_match_data* match_data,
                      OnMatch&& on_match) const {
    size_t search_from = 0;
    bool have_previous = false;
    size_t previous_end = 0;
    while (search_from <= text.size()) {
      size_t begin, end;
      if (!find(text, search_from, match_data, begin, end)) return;
      if (begin == end && have_previous && previous_end == end) {
        if (search_from >= text.size()) return;
        search_from += utf8_step(text, search_from);
        continue;
      }
      on_match(begin, end);
      have_previous = true;
      previous_end = end;
      search_from = end;
    }
  }

 private:
  bool find(std::string_view text, size_t from, pcre2_match_data* match_data, size_t& begin,
            size_t& end) const;
  static size_t utf8_step(std::string_view text, size_t at);

  std::string pattern_;
  pcre2_code* code_ = nullptr;
  pcre2_match_context* context_ = nullptr;  // Note [Regex limits]
  bool jit_ = false;
};

// The Oniguruma pattern rewritten for PCRE2 (exposed for tests and messages).
std::string translate_oniguruma(std::string_view pattern);

// `text` with every regex metacharacter escaped (Split's and Replace's "String" patterns).
std::string escape_regex(std::string_view text);

}  // namespace lmf::tokenizers::hf
