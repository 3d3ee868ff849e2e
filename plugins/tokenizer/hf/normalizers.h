// Normalizers of tokenizer.json: NFC, NFD, NFKC, NFKD, Lowercase, Replace, Prepend, Strip,
// StripAccents and Sequence. HF applies the normalizer to each piece of text between
// added tokens that are matched before normalization (added_tokens.h).
#pragma once

#include "regex.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::tokenizers::hf {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Writes the normalized `text` into `out` and returns true, or returns false when the
  // text is already normal (then `out` is unspecified). `text` is valid UTF-8.
  virtual bool normalize(std::string_view text, std::string& out,
                         pcre2_match_data* match_data) const = 0;
  // True when normalize never changes anything (an empty Sequence).
  virtual bool is_identity() const { return false; }
};

enum class UnicodeForm { kNfc, kNfd, kNfkc, kNfkd };

std::unique_ptr<Normalizer> make_unicode_normalizer(UnicodeForm form);
std::unique_ptr<Normalizer> make_lowercase_normalizer();
// Replace: every match of `regex` (a "String" pattern arrives escaped) becomes `content`.
std::unique_ptr<Normalizer> make_replace_normalizer(std::unique_ptr<Regex> regex,
                                                    std::string content);
// Prepend: `prefix` before any non-empty text.
std::unique_ptr<Normalizer> make_prepend_normalizer(std::string prefix);
// Strip: leading and/or trailing Unicode White_Space removed.
std::unique_ptr<Normalizer> make_strip_normalizer(bool left, bool right);
// StripAccents: combining marks (Mn, Mc, Me: HF's is_combining_mark) removed.
std::unique_ptr<Normalizer> make_strip_accents_normalizer();
std::unique_ptr<Normalizer> make_sequence_normalizer(
    std::vector<std::unique_ptr<Normalizer>> normalizers);

}  // namespace lmf::tokenizers::hf
