#include "stages/unicode_normalize.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace lmf::data {

std::string normalize(std::string_view text, NormalForm form) {
  bool ascii = true;
  for (char c : text)
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return std::string(text);  // ASCII is invariant under NFC and NFKC
  utf8proc_option_t options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  if (form == NormalForm::nfkc) options = static_cast<utf8proc_option_t>(options | UTF8PROC_COMPAT);
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t size =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &mapped, options);
  if (size < 0)
    throw std::runtime_error(std::string("Unicode normalization failed: ") + utf8proc_errmsg(size));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
  return std::string(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(size));
}

UnicodeNormalize::UnicodeNormalize(NormalForm form)
    : TransformStage("unicode_normalize", {}), form_(form) {}

bool UnicodeNormalize::transform(std::string& text, Tally&) const {
  std::string normalized = normalize(text, form_);
  if (normalized == text) return false;
  text = std::move(normalized);
  return true;
}

nlohmann::json UnicodeNormalize::params() const {
  return {{"form", form_ == NormalForm::nfc ? "NFC" : "NFKC"}};
}

}  // namespace lmf::data
