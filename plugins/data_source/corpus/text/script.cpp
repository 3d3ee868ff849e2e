#include "text/script.h"

#include "text/utf8.h"

#include <utf8proc.h>

namespace lmf::data::script {

bool is_space(char32_t cp) noexcept {
  switch (cp) {
    case 0x09:
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x0D:
    case 0x20:
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_cjk(char32_t cp) noexcept {
  return (cp >= 0x4E00 && cp <= 0x9FFF) ||    // CJK Unified Ideographs
         (cp >= 0x3400 && cp <= 0x4DBF) ||    // Extension A
         (cp >= 0x20000 && cp <= 0x323AF) ||  // Extensions B–H (planes 2 and 3)
         (cp >= 0xF900 && cp <= 0xFAFF) ||    // Compatibility Ideographs
         (cp >= 0x3040 && cp <= 0x30FF) ||    // Hiragana, Katakana
         (cp >= 0x31F0 && cp <= 0x31FF) ||    // Katakana Phonetic Extensions
         (cp >= 0x3100 && cp <= 0x312F) ||    // Bopomofo
         (cp >= 0x31A0 && cp <= 0x31BF) ||    // Bopomofo Extended
         (cp >= 0xAC00 && cp <= 0xD7AF) ||    // Hangul Syllables
         (cp >= 0x1100 && cp <= 0x11FF) ||    // Hangul Jamo
         (cp >= 0x3130 && cp <= 0x318F) ||    // Hangul Compatibility Jamo
         cp == 0x3005 || cp == 0x3007;        // 々 〇
}

bool is_word_char(char32_t cp) noexcept {
  if (cp < 0x80)
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
  const utf8proc_category_t category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_NO;
}

bool is_symbol(char32_t cp) noexcept {
  if (cp < 0x80) {
    switch (cp) {
      case '#':
      case '@':
      case '\\':
      case '_':  // Po, Pc
      case '$':
      case '+':
      case '<':
      case '=':
      case '>':
      case '^':
      case '`':  // S*
      case '|':
      case '~':
        return true;
      default:
        return false;
    }
  }
  const utf8proc_category_t category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category >= UTF8PROC_CATEGORY_SM && category <= UTF8PROC_CATEGORY_SO;
}

TextStats measure(std::string_view text) {
  TextStats stats;
  bool in_word = false;
  utf8::for_each(text, [&](char32_t cp, std::size_t, std::size_t) {
    if (is_space(cp)) {
      in_word = false;
      return;
    }
    ++stats.chars;
    if (is_cjk(cp)) {
      ++stats.words;
      in_word = false;
    } else if (is_word_char(cp)) {
      if (!in_word) ++stats.words;
      in_word = true;
    } else {
      in_word = false;
      if (is_symbol(cp)) ++stats.symbols;
    }
  });
  return stats;
}

std::vector<Word> words(std::string_view text, std::string& folded) {
  folded.assign(text);
  for (char& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  std::vector<Word> out;
  bool in_word = false;
  utf8::for_each(folded, [&](char32_t cp, std::size_t at, std::size_t length) {
    if (is_cjk(cp)) {
      out.push_back({at, at + length});
      in_word = false;
    } else if (!is_space(cp) && is_word_char(cp)) {
      if (in_word)
        out.back().end = at + length;
      else
        out.push_back({at, at + length});
      in_word = true;
    } else {
      in_word = false;
    }
  });
  return out;
}

}  // namespace lmf::data::script
