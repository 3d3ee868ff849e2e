// UTF-8 decoding, validation and repair (Unicode 15, §3.9 Table 3-7: no overlongs, no
// surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lmf::data::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;

struct Decoded {
  char32_t code_point = 0;
  std::size_t length = 0;  // bytes consumed; 0 when `text[at]` starts no well-formed sequence
};

// Decodes the code point starting at `text[at]` (at < text.size()).
Decoded decode(std::string_view text, std::size_t at) noexcept;

// Appends `code_point` (a scalar value) encoded as UTF-8.
void append(std::string& out, char32_t code_point);

// The byte offset of the first ill-formed sequence, or npos when `text` is valid UTF-8.
std::size_t first_invalid(std::string_view text) noexcept;

// Replaces each maximal ill-formed subpart with U+FFFD (Unicode §3.9 "U+FFFD substitution
// of maximal subparts", what browsers and Python's "replace" do); returns how many.
std::size_t repair(std::string& text);

// Calls `fn(code_point, offset, length)` for each code point of valid UTF-8 `text`.
template <class Fn>
void for_each(std::string_view text, Fn&& fn) {
  for (std::size_t at = 0; at < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[at]);
    if (lead < 0x80) {
      fn(static_cast<char32_t>(lead), at, std::size_t{1});
      ++at;
      continue;
    }
    Decoded decoded = decode(text, at);
    if (decoded.length == 0) decoded = {kReplacement, 1};  // callers pass valid text
    fn(decoded.code_point, at, decoded.length);
    at += decoded.length;
  }
}

}  // namespace lmf::data::utf8
