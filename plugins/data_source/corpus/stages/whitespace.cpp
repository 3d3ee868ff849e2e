#include "stages/whitespace.h"

#include "text/script.h"
#include "text/utf8.h"

namespace lmf::data {

std::string normalize_whitespace(std::string_view text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false, previous_cr = false;
  int pending_breaks = 0;
  utf8::for_each(text, [&](char32_t cp, std::size_t at, std::size_t length) {
    const bool cr = cp == '\r';
    const bool line_break = cp == '\n' || cr || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (line_break) {
      if (!(cp == '\n' && previous_cr)) {  // "\r\n" is one break
        if (keep_newlines)
          ++pending_breaks;
        else
          pending_space = true;
      }
    } else if (script::is_space(cp)) {
      pending_space = true;
    } else {
      if (!out.empty()) {
        if (pending_breaks > 0)
          out.append(pending_breaks > 1 ? "\n\n" : "\n");
        else if (pending_space)
          out.push_back(' ');
      }
      pending_breaks = 0;
      pending_space = false;
      out.append(text.substr(at, length));
    }
    previous_cr = cr;
  });
  return out;
}

Whitespace::Whitespace(bool keep_newlines)
    : TransformStage("whitespace", {}), keep_newlines_(keep_newlines) {}

bool Whitespace::transform(std::string& text, Tally&) const {
  std::string normalized = normalize_whitespace(text, keep_newlines_);
  if (normalized == text) return false;
  text = std::move(normalized);
  return true;
}

}  // namespace lmf::data
