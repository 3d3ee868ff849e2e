#include "utf8.h"

#include <cstring>

namespace lmf::tokenizers::hf {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed sequence at p (Unicode Table 3-7), or 0 when p starts an
// ill-formed one; `*maximal` receives the length of the maximal subpart in that case.
size_t well_formed_length(const unsigned char* p, const unsigned char* end, size_t* maximal) {
  const unsigned char lead = p[0];
  size_t need;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    *maximal = 1;
    return 0;
  }
  size_t have = 1;
  for (; have < need; ++have) {
    if (p + have >= end) break;
    const unsigned char c = p[have];
    const bool in_range = have == 1 ? (c >= low && c <= high) : (c >= 0x80 && c <= 0xBF);
    if (!in_range) break;
  }
  if (have == need) return need;
  *maximal = have;
  return 0;
}

}  // namespace

size_t valid_utf8_prefix(std::string_view text) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  const unsigned char* p = begin;
  while (p < end) {
    // Eight ASCII bytes at a time: the common case of prose and code.
    while (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if (word & 0x8080808080808080ULL) break;
      p += 8;
    }
    if (p >= end) break;
    if (*p < 0x80) {
      ++p;
      continue;
    }
    size_t maximal = 0;
    const size_t length = well_formed_length(p, end, &maximal);
    if (length == 0) break;
    p += length;
  }
  return static_cast<size_t>(p - begin);
}

void append_replacing_invalid(std::string_view text, std::string& out) {
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  const unsigned char* p = begin;
  out.reserve(out.size() + text.size() + 8);
  while (p < end) {
    const size_t valid = valid_utf8_prefix(
        std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(end - p)));
    out.append(reinterpret_cast<const char*>(p), valid);
    p += valid;
    if (p >= end) break;
    size_t maximal = 1;
    well_formed_length(p, end, &maximal);
    out.append(kReplacement);
    p += maximal;
  }
}

void append_utf8(char32_t cp, std::string& out) {
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

}  // namespace lmf::tokenizers::hf
