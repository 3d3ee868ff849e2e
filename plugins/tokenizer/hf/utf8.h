// UTF-8 helpers of the hf tokenizer: validation, the invalid-input policy, and code points.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lmf::tokenizers::hf {

// Note [Invalid UTF-8]
// Hugging Face tokenizers only takes valid text (a Python str, a JS string). What a caller
// holding bytes does first is decode them with errors="replace" (Python), TextDecoder
// (JavaScript) or String::from_utf8_lossy (Rust): each maximal ill-formed subsequence
// (Unicode 15, §3.9 "U+FFFD Substitution of Maximal Subparts") becomes one U+FFFD. The
// three agree, and so do we: encode replaces invalid sequences that way before anything
// else (or refuses them, with "invalid_utf8": "error"), and decode turns the bytes that
// tokens spell into text the same way HF's ByteLevel decoder does.

// Length of the longest valid UTF-8 prefix of `text` (text.size() when all of it is valid).
size_t valid_utf8_prefix(std::string_view text);

// Appends `text` to `out` with every maximal ill-formed subsequence replaced by U+FFFD.
void append_replacing_invalid(std::string_view text, std::string& out);

// Appends the UTF-8 form of `cp` (a scalar value) to `out`.
void append_utf8(char32_t cp, std::string& out);

// Number of bytes of the UTF-8 sequence starting with `lead` (valid input only).
inline size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

// Decodes the code point at `text[at]` of valid UTF-8 and advances `at` past it.
inline char32_t next_code_point(std::string_view text, size_t& at) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data()) + at;
  if (p[0] < 0x80) {
    at += 1;
    return p[0];
  }
  if (p[0] < 0xE0) {
    at += 2;
    return (char32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (p[0] < 0xF0) {
    at += 3;
    return (char32_t(p[0] & 0x0F) << 12) | (char32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  at += 4;
  return (char32_t(p[0] & 0x07) << 18) | (char32_t(p[1] & 0x3F) << 12) |
         (char32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

// Decodes the code point that ends at `text[end]` (exclusive) of valid UTF-8.
inline char32_t previous_code_point(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return next_code_point(text, start);
}

// Unicode White_Space, which is what `\s` means in Oniguruma and in Rust's regex crate,
// the two engines whose behaviour HF tokenizers has (Note [Regex dialect]).
inline bool is_unicode_whitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

}  // namespace lmf::tokenizers::hf
