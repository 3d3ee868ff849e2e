// Finding and masking personal data (Note [PII rules]).
#pragma once

#include "text/regex.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace lmf::data {

// Note [PII rules]
// Applied in this order, each to the output of the one before, so that a number masked
// as one kind is not seen again as another:
//  1. e-mail: local part [A-Za-z0-9._%+-]+ (not preceded by one of those), '@', dotted
//     host labels, an alphabetic top-level domain of 2–24 letters. Replaced with
//     email_replacement ("[EMAIL]").
//  2. Chinese resident ID (GB 11643-1999): 18 characters, not inside a longer run of
//     digits: 6-digit region code not starting with 0, birth date YYYYMMDD (a real
//     calendar date, years 1800–2099), 3-digit sequence, check character 0-9 or X. The
//     check character must be ISO 7064 MOD 11-2 of the first 17: weights 2^(17-i) mod 11
//     = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, sum mod 11 indexes "10X98765432". Masked
//     "partial" (keeps the region and the last 4: 110105********002X) or "full" (18 '*').
//  3. phone: a Chinese mobile number 1[3-9]x xxxx xxxx (11 digits, optional +86 / 0086 /
//     (+86) prefix, 3-4-4 groups split by spaces or dashes); an international number
//     "+" country code then groups of digits split by spaces, dashes, dots or
//     parentheses, 8–15 digits in all (E.164); a Chinese landline with its area code,
//     0xx(x)-xxxxxxx(x). Replaced with phone_replacement ("[PHONE]"). Before cards,
//     because "+86 138 1234 5678" has 13 digits and may pass the Luhn check.
//  4. payment card: 13–19 digits, optionally grouped by single spaces or dashes, not
//     inside a longer run of digits nor after '+', passing the Luhn check. Masked to
//     "****-****-****-" + the last 4 digits, whatever the length (seed 003 §6.1), so the
//     mask does not tell the length either. A 13–19 digit number that is not a card but
//     passes Luhn (one in ten do) is masked too.

// Luhn (ISO/IEC 7812-1) over the digits of `number`; other characters are ignored.
bool luhn_valid(std::string_view number);
// Whether `id` is a valid 18-character resident ID: date and MOD 11-2 check character.
bool cn_resident_id_valid(std::string_view id);
// The MOD 11-2 check character ('0'-'9' or 'X') of 17 digits.
char cn_resident_id_check_char(std::string_view first17);

enum class IdMask { partial, full };

struct PiiOptions {
  bool email = true, phone = true, card = true, cn_id = true;
  std::string email_replacement = "[EMAIL]";
  std::string phone_replacement = "[PHONE]";
  IdMask cn_id_mask = IdMask::partial;
};

struct PiiCounts {
  std::size_t email = 0, cn_id = 0, card = 0, phone = 0;
  std::size_t total() const { return email + cn_id + card + phone; }
};

class PiiRules {
 public:
  explicit PiiRules(PiiOptions options);
  // Masks valid UTF-8 `text` in place (Note [PII rules]); returns what was masked.
  PiiCounts mask(std::string& text) const;
  const PiiOptions& options() const { return options_; }

 private:
  PiiOptions options_;
  Regex email_, cn_id_, card_, cn_mobile_, international_, landline_;
};

}  // namespace lmf::data
