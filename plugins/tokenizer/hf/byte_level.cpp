#include "byte_level.h"

#include "utf8.h"

namespace lmf::tokenizers::hf {

const ByteLevelAlphabet& ByteLevelAlphabet::get() {
  static const ByteLevelAlphabet alphabet;
  return alphabet;
}

ByteLevelAlphabet::ByteLevelAlphabet() {
  byte_of_.fill(-1);
  // Printable Latin-1 stands for itself; the other 68 bytes take U+0100 onwards in order.
  char32_t next = 0x100;
  for (int byte = 0; byte < 256; ++byte) {
    const bool printable = (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) ||
                           (byte >= 0xAE && byte <= 0xFF);
    const char32_t cp = printable ? static_cast<char32_t>(byte) : next++;
    std::string text;
    append_utf8(cp, text);
    sizes_[byte] = static_cast<uint8_t>(text.size());
    for (size_t i = 0; i < text.size(); ++i) texts_[byte][i] = text[i];
    byte_of_[cp] = static_cast<int16_t>(byte);
  }
}

void ByteLevelAlphabet::encode(std::string_view bytes, std::string& out) const {
  out.reserve(out.size() + bytes.size() * 2);
  for (char c : bytes) out.append(text_of(static_cast<uint8_t>(c)));
}

bool ByteLevelAlphabet::decode(std::string_view text, std::string& out) const {
  size_t at = 0;
  while (at < text.size()) {
    const int byte = byte_of(next_code_point(text, at));
    if (byte < 0) return false;
    out.push_back(static_cast<char>(byte));
  }
  return true;
}

}  // namespace lmf::tokenizers::hf
