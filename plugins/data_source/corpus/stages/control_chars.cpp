#include "stages/control_chars.h"

#include "text/script.h"
#include "text/utf8.h"

#include <utf8proc.h>

namespace lmf::data {

namespace {

bool is_noncharacter(char32_t cp) {
  return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

bool run_symbol(char32_t cp) {
  return cp == '-' || cp == '.' || cp == '=' || cp == '~' || cp == '*' || cp == '#' || cp == '_' ||
         (cp >= 0x80 && script::is_symbol(cp));
}

}  // namespace

ControlChars::ControlChars(JunkOptions options)
    : TransformStage("control_chars", {"control", "format", "private_use", "noncharacter",
                                       "replacement_char", "symbol_run"}),
      options_(options) {}

bool ControlChars::transform(std::string& text, Tally& tally) const {
  std::string out;
  bool changed = false;
  char32_t run_char = 0;
  int run_length = 0;
  std::size_t copied = 0;  // text[copied, at) is still to be copied to `out`
  auto remove = [&](std::size_t at, std::size_t length, Reason reason) {
    if (!changed) out.reserve(text.size());
    out.append(text, copied, at - copied);
    copied = at + length;
    changed = true;
    ++tally.reasons[reason];
  };
  utf8::for_each(text, [&](char32_t cp, std::size_t at, std::size_t length) {
    if (cp == run_char)
      ++run_length;
    else {
      run_char = cp;
      run_length = 1;
    }
    if (cp < 0x80) {
      if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F) {
        remove(at, length, kControl);
        return;
      }
    } else if (is_noncharacter(cp)) {
      remove(at, length, kNoncharacter);
      return;
    } else if (cp == utf8::kReplacement) {
      if (options_.remove_replacement_char) {
        remove(at, length, kReplacementChar);
        return;
      }
    } else {
      const utf8proc_category_t category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
      if (category == UTF8PROC_CATEGORY_CC) {
        remove(at, length, kControl);
        return;
      }
      if (category == UTF8PROC_CATEGORY_CF && options_.remove_format && cp != 0x200C &&
          cp != 0x200D && !(cp >= 0xE0020 && cp <= 0xE007F)) {
        remove(at, length, kFormat);
        return;
      }
      if (category == UTF8PROC_CATEGORY_CO && options_.remove_private_use) {
        remove(at, length, kPrivateUse);
        return;
      }
    }
    if (options_.max_symbol_run > 0 && run_length > options_.max_symbol_run && run_symbol(cp))
      remove(at, length, kSymbolRun);
  });
  if (!changed) return false;
  out.append(text, copied, std::string::npos);
  text = std::move(out);
  return true;
}

nlohmann::json ControlChars::params() const {
  return {{"remove_format", options_.remove_format},
          {"remove_private_use", options_.remove_private_use},
          {"remove_replacement_char", options_.remove_replacement_char},
          {"max_symbol_run", options_.max_symbol_run}};
}

}  // namespace lmf::data
