#include "regex.h"

#include <cctype>
#include <cstdlib>
#include <stdexcept>

namespace lmf::tokenizers::hf {
namespace {

// Unicode White_Space, the contents of a character class.
constexpr std::string_view kWhiteSpace =
    "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}"
    "\\x{205F}\\x{3000}";
// Oniguruma's \w, Unicode's "word" of UTS #18: Alphabetic, marks, decimal numbers,
// connector punctuation and the joiners.
constexpr std::string_view kWord = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
constexpr std::string_view kHexDigit = "0-9a-fA-F";

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

std::string translate_oniguruma(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  int class_depth = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[i + 1];
      std::string_view set;
      bool negated = false;
      switch (e) {
        case 's':
          set = kWhiteSpace;
          break;
        case 'S':
          set = kWhiteSpace, negated = true;
          break;
        case 'w':
          set = kWord;
          break;
        case 'W':
          set = kWord, negated = true;
          break;
        case 'h':
          set = kHexDigit;
          break;
        case 'H':
          set = kHexDigit, negated = true;
          break;
        default:
          break;
      }
      if (!set.empty()) {
        if (class_depth == 0) {
          out += negated ? "[^" : "[";
          out += set;
          out += "]";
        } else if (!negated) {
          out += set;
        } else {
          // A negated set inside a class has no PCRE2 spelling; PCRE2's own escape is the
          // closest (and exact for \S on everything but U+180E).
          out += '\\';
          out += e;
        }
        ++i;
        continue;
      }
      if (e == 'u' && i + 5 < pattern.size() && is_hex(pattern[i + 2]) && is_hex(pattern[i + 3]) &&
          is_hex(pattern[i + 4]) && is_hex(pattern[i + 5])) {
        out += "\\x{";
        out += pattern.substr(i + 2, 4);
        out += "}";
        i += 5;
        continue;
      }
      out += c;
      out += e;
      ++i;
      continue;
    }
    if (c == '[') {
      ++class_depth;
      out += c;
      // A ']' right after '[' or '[^' is a literal in both dialects.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && class_depth > 0) --class_depth;
    out += c;
  }
  return out;
}

std::string escape_regex(std::string_view text) {
  // A backslash before any ASCII punctuation is a literal in PCRE2.
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool punctuation = u > 0x20 && u < 0x7F && !std::isalnum(u);
    if (punctuation) out += '\\';
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view pattern) : pattern_(pattern) {
  const std::string translated = translate_oniguruma(pattern);
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                        PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &error, &error_offset, context);
  pcre2_compile_context_free(context);
  if (code_ == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    throw std::invalid_argument("regex \"" + std::string(pattern) + "\" does not compile (" +
                                reinterpret_cast<const char*>(message) + " at offset " +
                                std::to_string(error_offset) + " of its PCRE2 form \"" +
                                translated + "\")");
  }
  // LMF_TOKENIZER_NO_JIT=1 runs the interpreter instead, for valgrind: JIT code reads
  // whole 16-byte blocks past the end of a subject (harmless, but memcheck reports it).
  static const bool no_jit = std::getenv("LMF_TOKENIZER_NO_JIT") != nullptr;
  jit_ = !no_jit && pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
  // Note [Regex limits]
  // PCRE2's default match limit (10 million backtracking steps) stops a pattern such as
  // `\s*[\r\n]+|\s+(?!\S)` on a run of a few million spaces, although the work is linear.
  // HF (Oniguruma) has the same kind of limit and aborts the process there; we lift it, so
  // such text is encoded as HF would without its limit. The context is only read while
  // matching, so threads share it.
  context_ = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(context_, UINT32_MAX);
  pcre2_set_depth_limit(context_, UINT32_MAX);
  pcre2_set_heap_limit(context_, UINT32_MAX);
}

Regex::~Regex() {
  pcre2_match_context_free(context_);
  pcre2_code_free(code_);
}

pcre2_match_data* Regex::new_match_data() {
  // One pair: only the whole match is read; PCRE2 still matches when groups do not fit.
  return pcre2_match_data_create(1, nullptr);
}

bool Regex::find(std::string_view text, size_t from, pcre2_match_data* match_data, size_t& begin,
                 size_t& end) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = jit_ ? pcre2_jit_match(code_, subject, text.size(), from, 0, match_data, context_)
                : PCRE2_ERROR_JIT_STACKLIMIT;
  // Without JIT, or when a match needs more than JIT's 32 KiB stack: the interpreter, whose
  // backtracking memory is on the heap.
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(code_, subject, text.size(), from, PCRE2_NO_UTF_CHECK, match_data, context_);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof(message));
    throw std::runtime_error("regex \"" + pattern_ +
                             "\" failed to match: " + reinterpret_cast<const char*>(message));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data);
  begin = ovector[0];
  end = ovector[1];
  return true;
}

size_t Regex::utf8_step(std::string_view text, size_t at) {
  const auto lead = static_cast<unsigned char>(text[at]);
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

}  // namespace lmf::tokenizers::hf
