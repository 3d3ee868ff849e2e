#include "normalizers.h"

#include "utf8.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace lmf::tokenizers::hf {
namespace {

// True when `cp` is left as it is by the normalization form and cannot combine with
// the code point before it: such text needs no call into utf8proc (Note [Quick check]).
//
// Note [Quick check]
// Most text is already in NFC: utf8proc would copy it to UTF-32 and back for nothing. A
// code point with combining class 0, no decomposition (canonical, for NFC/NFD; any, for
// NFKC/NFKD) and that is not the second half of a canonical composition (utf8proc's
// comb_index >= 0x8000, or a Hangul vowel/trailing jamo) is stable: a piece made only of
// such code points is returned as is. Anything else sends the whole piece to utf8proc.
bool is_stable(char32_t cp, bool compatibility) {
  if (cp < 0xA0) return true;
  // Hangul vowel and trailing jamo compose with the syllable or jamo before them.
  if ((cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11A8 && cp <= 0x11C2)) return false;
  const utf8proc_property_t* property = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  if (property->combining_class != 0) return false;
  if (property->comb_index != UINT16_MAX && property->comb_index >= 0x8000) return false;
  if (property->decomp_seqindex != UINT16_MAX) {
    const bool canonical = property->decomp_type == 0;
    if (canonical || compatibility) return false;
  }
  return true;
}

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}

  bool normalize(std::string_view text, std::string& out, pcre2_match_data*) const override {
    // Only the runs around unstable code points go through utf8proc; a stable code point
    // is a boundary that normalization never crosses (Note [Quick check]), so each run
    // starts at the stable code point before it (which may compose with what follows) and
    // ends before the next stable one.
    size_t copied = 0;       // text before this is in `out` already
    size_t last_stable = 0;  // start of the last stable code point seen
    bool changed = false;
    size_t at = 0;
    while (at < text.size()) {
      const size_t start = at;
      if (static_cast<unsigned char>(text[at]) < 0x80) {
        last_stable = start;
        ++at;
        continue;
      }
      const char32_t cp = next_code_point(text, at);
      if (stable(cp)) {
        last_stable = start;
        continue;
      }
      const size_t run_begin = std::max(copied, last_stable);
      size_t run_end = at;
      while (run_end < text.size()) {
        size_t next = run_end;
        if (stable(next_code_point(text, next))) break;
        run_end = next;
      }
      if (!changed) {
        out.clear();
        out.reserve(text.size() + 16);
        changed = true;
      }
      out.append(text.substr(copied, run_begin - copied));
      append_normalized(text.substr(run_begin, run_end - run_begin), out);
      copied = run_end;
      at = run_end;
      last_stable = run_end;
    }
    if (!changed) return false;
    out.append(text.substr(copied));
    return out != text;
  }

 private:
  bool stable(char32_t cp) const {
    const bool compatibility = form_ == UnicodeForm::kNfkc || form_ == UnicodeForm::kNfkd;
    const bool decompose = form_ == UnicodeForm::kNfd || form_ == UnicodeForm::kNfkd;
    return is_stable(cp, compatibility) && (!decompose || is_decomposition_stable(cp));
  }
  void append_normalized(std::string_view run, std::string& out) const {
    const bool compatibility = form_ == UnicodeForm::kNfkc || form_ == UnicodeForm::kNfkd;
    const bool decompose = form_ == UnicodeForm::kNfd || form_ == UnicodeForm::kNfkd;
    int options = UTF8PROC_STABLE | (decompose ? UTF8PROC_DECOMPOSE : UTF8PROC_COMPOSE);
    if (compatibility) options |= UTF8PROC_COMPAT;
    utf8proc_uint8_t* result = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(run.data()),
                     static_cast<utf8proc_ssize_t>(run.size()), &result,
                     static_cast<utf8proc_option_t>(options));
    // Valid UTF-8 always normalizes; only memory can run out here.
    if (length < 0) throw std::bad_alloc();
    out.append(reinterpret_cast<const char*>(result), static_cast<size_t>(length));
    std::free(result);
  }
  static bool is_decomposition_stable(char32_t cp) {
    if (cp >= 0xAC00 && cp <= 0xD7A3) return false;
    const utf8proc_property_t* property = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
    return property->decomp_seqindex == UINT16_MAX;
  }
  UnicodeForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  bool normalize(std::string_view text, std::string& out, pcre2_match_data*) const override {
    out.clear();
    out.reserve(text.size());
    bool changed = false;
    size_t at = 0;
    while (at < text.size()) {
      const auto lead = static_cast<unsigned char>(text[at]);
      if (lead < 0x80) {
        const char lower = (lead >= 'A' && lead <= 'Z') ? static_cast<char>(lead + 32) : text[at];
        changed |= lower != text[at];
        out.push_back(lower);
        ++at;
        continue;
      }
      const char32_t cp = next_code_point(text, at);
      // Rust's char::to_lowercase: the full mapping, whose only multi-character entry
      // outside contextual rules is U+0130 -> "i\u0307".
      if (cp == 0x130) {
        out.append("i\xCC\x87");
        changed = true;
        continue;
      }
      const auto lower = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
      changed |= lower != cp;
      append_utf8(lower, out);
    }
    return changed;
  }
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::unique_ptr<Regex> regex, std::string content)
      : regex_(std::move(regex)), content_(std::move(content)) {}

  bool normalize(std::string_view text, std::string& out,
                 pcre2_match_data* match_data) const override {
    out.clear();
    size_t copied = 0;
    bool changed = false;
    // An empty match inserts `content` too, as in HF's NormalizedString::replace.
    regex_->for_each_match(text, match_data, [&](size_t begin, size_t end) {
      out.append(text.substr(copied, begin - copied));
      out.append(content_);
      copied = end;
      changed = true;
    });
    if (!changed) return false;
    out.append(text.substr(copied));
    return true;
  }

 private:
  std::unique_ptr<Regex> regex_;
  std::string content_;
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  bool normalize(std::string_view text, std::string& out, pcre2_match_data*) const override {
    if (text.empty() || prefix_.empty()) return false;
    out.assign(prefix_);
    out.append(text);
    return true;
  }

 private:
  std::string prefix_;
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  bool normalize(std::string_view text, std::string& out, pcre2_match_data*) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t next = begin;
        if (!is_unicode_whitespace(next_code_point(text, next))) break;
        begin = next;
      }
    }
    if (right_) {
      while (end > begin) {
        const char32_t cp = previous_code_point(text, end);
        if (!is_unicode_whitespace(cp)) break;
        std::string utf8;
        append_utf8(cp, utf8);
        end -= utf8.size();
      }
    }
    if (begin == 0 && end == text.size()) return false;
    out.assign(text.substr(begin, end - begin));
    return true;
  }

 private:
  bool left_, right_;
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  bool normalize(std::string_view text, std::string& out, pcre2_match_data*) const override {
    out.clear();
    bool changed = false;
    size_t at = 0;
    while (at < text.size()) {
      const size_t start = at;
      const char32_t cp = next_code_point(text, at);
      const auto category =
          cp < 0x300 ? UTF8PROC_CATEGORY_LL : utf8proc_category(static_cast<utf8proc_int32_t>(cp));
      if (category == UTF8PROC_CATEGORY_MN || category == UTF8PROC_CATEGORY_MC ||
          category == UTF8PROC_CATEGORY_ME) {
        changed = true;
        continue;
      }
      out.append(text.substr(start, at - start));
    }
    return changed;
  }
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> normalizers)
      : normalizers_(std::move(normalizers)) {}

  bool normalize(std::string_view text, std::string& out,
                 pcre2_match_data* match_data) const override {
    bool changed = false;
    std::string current, next;
    for (const auto& normalizer : normalizers_) {
      if (normalizer->normalize(changed ? std::string_view(current) : text, next, match_data)) {
        current.swap(next);
        changed = true;
      }
    }
    if (changed) out.swap(current);
    return changed;
  }
  bool is_identity() const override {
    for (const auto& normalizer : normalizers_)
      if (!normalizer->is_identity()) return false;
    return true;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

}  // namespace

std::unique_ptr<Normalizer> make_unicode_normalizer(UnicodeForm form) {
  return std::make_unique<UnicodeNormalizer>(form);
}
std::unique_ptr<Normalizer> make_lowercase_normalizer() {
  return std::make_unique<LowercaseNormalizer>();
}
std::unique_ptr<Normalizer> make_replace_normalizer(std::unique_ptr<Regex> regex,
                                                    std::string content) {
  return std::make_unique<ReplaceNormalizer>(std::move(regex), std::move(content));
}
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prefix) {
  return std::make_unique<PrependNormalizer>(std::move(prefix));
}
std::unique_ptr<Normalizer> make_strip_normalizer(bool left, bool right) {
  return std::make_unique<StripNormalizer>(left, right);
}
std::unique_ptr<Normalizer> make_strip_accents_normalizer() {
  return std::make_unique<StripAccentsNormalizer>();
}
std::unique_ptr<Normalizer> make_sequence_normalizer(
    std::vector<std::unique_ptr<Normalizer>> normalizers) {
  return std::make_unique<SequenceNormalizer>(std::move(normalizers));
}

}  // namespace lmf::tokenizers::hf
