#include "text/utf8.h"

namespace lmf::data::utf8 {

namespace {

bool continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

// The length of the longest prefix of `text[at..]` that starts a well-formed sequence but
// is cut short (the "maximal subpart"), at least 1: what one U+FFFD replaces.
std::size_t maximal_subpart(std::string_view text, std::size_t at) {
  const unsigned char lead = static_cast<unsigned char>(text[at]);
  unsigned char low = 0x80, high = 0xBF;
  std::size_t needed = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 1;
  }
  std::size_t length = 1;
  for (std::size_t i = 0; i < needed && at + length < text.size(); ++i) {
    const unsigned char byte = static_cast<unsigned char>(text[at + length]);
    const unsigned char lo = i == 0 ? low : 0x80, hi = i == 0 ? high : 0xBF;
    if (byte < lo || byte > hi) break;
    ++length;
  }
  return length;
}

}  // namespace

Decoded decode(std::string_view text, std::size_t at) noexcept {
  const std::size_t size = text.size();
  const unsigned char lead = static_cast<unsigned char>(text[at]);
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[at + i]); };
  if (lead < 0x80) return {lead, 1};
  if (lead >= 0xC2 && lead <= 0xDF) {
    if (at + 1 >= size || !continuation(byte(1))) return {};
    return {static_cast<char32_t>(((lead & 0x1F) << 6) | (byte(1) & 0x3F)), 2};
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (at + 2 >= size || !continuation(byte(1)) || !continuation(byte(2))) return {};
    if (lead == 0xE0 && byte(1) < 0xA0) return {};  // overlong
    if (lead == 0xED && byte(1) > 0x9F) return {};  // surrogate
    return {
        static_cast<char32_t>(((lead & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F)),
        3};
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (at + 3 >= size || !continuation(byte(1)) || !continuation(byte(2)) ||
        !continuation(byte(3)))
      return {};
    if (lead == 0xF0 && byte(1) < 0x90) return {};  // overlong
    if (lead == 0xF4 && byte(1) > 0x8F) return {};  // above U+10FFFF
    return {static_cast<char32_t>(((lead & 0x07) << 18) | ((byte(1) & 0x3F) << 12) |
                                  ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F)),
            4};
  }
  return {};
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::size_t first_invalid(std::string_view text) noexcept {
  for (std::size_t at = 0; at < text.size();) {
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
      continue;
    }
    const Decoded decoded = decode(text, at);
    if (decoded.length == 0) return at;
    at += decoded.length;
  }
  return std::string_view::npos;
}

std::size_t repair(std::string& text) {
  std::size_t at = first_invalid(text);
  if (at == std::string_view::npos) return 0;
  std::string out(text, 0, at);
  std::size_t replaced = 0;
  while (at < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[at]);
    if (lead < 0x80) {
      out.push_back(static_cast<char>(lead));
      ++at;
      continue;
    }
    const Decoded decoded = decode(text, at);
    if (decoded.length != 0) {
      out.append(text, at, decoded.length);
      at += decoded.length;
    } else {
      append(out, kReplacement);
      ++replaced;
      at += maximal_subpart(text, at);
    }
  }
  text = std::move(out);
  return replaced;
}

}  // namespace lmf::data::utf8
