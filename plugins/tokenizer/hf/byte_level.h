// The byte-level alphabet of GPT-2 (bytes_to_unicode): every byte is shown as one
// printable code point, so that a byte-level BPE vocabulary is made of ordinary strings.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace lmf::tokenizers::hf {

class ByteLevelAlphabet {
 public:
  // The one table, built once (thread-safe static initialisation).
  static const ByteLevelAlphabet& get();

  // The UTF-8 text of the code point that stands for `byte`.
  std::string_view text_of(uint8_t byte) const { return {texts_[byte].data(), sizes_[byte]}; }
  // The byte a code point stands for, or -1 when it is not in the alphabet.
  int byte_of(char32_t cp) const { return cp < byte_of_.size() ? byte_of_[cp] : -1; }

  // Appends the alphabet text of `bytes` to `out`.
  void encode(std::string_view bytes, std::string& out) const;
  // Appends the bytes `text` stands for; false (with `out` unspecified) when a character of
  // `text` is not in the alphabet.
  bool decode(std::string_view text, std::string& out) const;

 private:
  ByteLevelAlphabet();
  std::array<std::array<char, 2>, 256> texts_{};
  std::array<uint8_t, 256> sizes_{};
  std::array<int16_t, 324> byte_of_{};  // code points up to U+0143
};

}  // namespace lmf::tokenizers::hf
