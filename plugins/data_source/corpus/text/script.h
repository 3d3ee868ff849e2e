// What the cleaning stages need to know about characters: white space, CJK scripts, and
// the CJK-aware notion of a "word" (Note [CJK-aware words]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace lmf::data::script {

// Note [CJK-aware words]
// Chinese and Japanese are written without spaces, so "words" cannot be runs between
// spaces. Everywhere a stage counts words (quality filter, near-duplicate shingles), a
// word is either
//   - one CJK code point (Han ideographs incl. extensions and compatibility ideographs,
//     Hiragana, Katakana, Hangul syllables and jamo, Bopomofo): each is one word, or
//   - a maximal run of other letters (L*), marks (M*) and numbers (N*).
// Punctuation, symbols and white space separate words and are not words. So
// "Hello world 你好" has 4 words, "don't" has 2, "2024年" has 2 ("2024", "年").

// Unicode White_Space (tabs, newlines, NBSP, U+3000 IDEOGRAPHIC SPACE, …).
bool is_space(char32_t cp) noexcept;
bool is_cjk(char32_t cp) noexcept;
// Letters, marks and numbers: what makes up non-CJK words.
bool is_word_char(char32_t cp) noexcept;
// General categories S* (math, currency, modifier and other symbols: + < = > | ~ $ © ★,
// emoji) plus the ASCII # @ \ _, which prose does not use but junk does. Not '*': the
// PII masks are made of it.
bool is_symbol(char32_t cp) noexcept;

struct TextStats {
  std::size_t chars = 0;    // code points that are not white space
  std::size_t words = 0;    // Note [CJK-aware words]
  std::size_t symbols = 0;  // is_symbol
};
// `text` must be valid UTF-8.
TextStats measure(std::string_view text);

// The words of `text` (Note [CJK-aware words]) as byte ranges, ASCII letters lower-cased
// into `folded`, which the ranges point into.
struct Word {
  std::size_t begin = 0, end = 0;
};
std::vector<Word> words(std::string_view text, std::string& folded);

}  // namespace lmf::data::script
