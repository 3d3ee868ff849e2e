#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

namespace lmf::data {

struct Regex::Impl {
  pcre2_code* code = nullptr;
  ~Impl() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern) : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF, &error, &offset, nullptr);
  if (impl_->code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw std::invalid_argument("regular expression \"" + std::string(pattern) +
                                "\" does not compile at offset " + std::to_string(offset) + ": " +
                                reinterpret_cast<const char*>(message));
  }
  // Without JIT support pcre2_match interprets the pattern: slower, same results.
  (void)pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

Regex::~Regex() = default;

std::size_t Regex::for_each(std::string_view subject,
                            const std::function<void(std::size_t, std::size_t)>& on_match) const {
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), &pcre2_match_data_free);
  if (!data) throw std::bad_alloc();
  std::size_t count = 0;
  PCRE2_SIZE start = 0;
  while (start <= subject.size()) {
    const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()),
                               subject.size(), start, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      throw std::runtime_error(std::string("regular expression match failed: ") +
                               reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data.get());
    const std::size_t begin = ovector[0], end = ovector[1];
    ++count;
    on_match(begin, end);
    if (end > begin) {
      start = end;
    } else {  // an empty match: step over one code point
      start = end + 1;
      while (start < subject.size() && (static_cast<unsigned char>(subject[start]) & 0xC0) == 0x80)
        ++start;
    }
  }
  return count;
}

std::size_t Regex::replace(
    std::string& text,
    const std::function<bool(std::string_view match, std::string& out)>& replacement) const {
  std::string out;
  std::size_t copied = 0, replaced = 0;
  std::string piece;
  for_each(text, [&](std::size_t begin, std::size_t end) {
    piece.clear();
    if (!replacement(std::string_view(text).substr(begin, end - begin), piece)) return;
    if (replaced == 0) out.reserve(text.size());
    out.append(text, copied, begin - copied);
    out += piece;
    copied = end;
    ++replaced;
  });
  if (replaced == 0) return 0;
  out.append(text, copied, std::string::npos);
  text = std::move(out);
  return replaced;
}

}  // namespace lmf::data
