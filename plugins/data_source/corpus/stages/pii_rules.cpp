#include "stages/pii_rules.h"

namespace lmf::data {

namespace {

constexpr const char* kEmail =
    R"((?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)"
    R"((?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9\-]))";
constexpr const char* kCnId =
    R"((?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}[0-9Xx](?![0-9Xx]))";
constexpr const char* kCard =
    R"((?<![0-9+])(?<![0-9][ \-])[0-9](?:[ \-]?[0-9]){12,18}(?![0-9])(?![ \-][0-9]))";
constexpr const char* kCnMobile =
    R"((?<![0-9])(?:(?:\+|00)86[ \-]?|\(\+?86\)[ \-]?)?1[3-9][0-9][ \-]?[0-9]{4}[ \-]?[0-9]{4}(?![0-9]))";
constexpr const char* kInternational =
    R"((?<![0-9A-Za-z+])\+[1-9][0-9]{0,2}(?:[ .\-]?\(?[0-9]{1,4}\)?){2,6}(?![0-9]))";
constexpr const char* kLandline = R"((?<![0-9\-])0[1-9][0-9]{1,2}-[0-9]{7,8}(?![0-9\-]))";

std::size_t count_digits(std::string_view text) {
  std::size_t digits = 0;
  for (char c : text) digits += c >= '0' && c <= '9';
  return digits;
}

bool leap(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

bool valid_date(int year, int month, int day) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1800 || year > 2099 || month < 1 || month > 12 || day < 1) return false;
  return day <= kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
}

int number(std::string_view digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

}  // namespace

bool luhn_valid(std::string_view number_text) {
  int sum = 0;
  std::size_t digits = 0;
  for (auto it = number_text.rbegin(); it != number_text.rend(); ++it) {
    if (*it < '0' || *it > '9') continue;
    int digit = *it - '0';
    if (digits % 2 == 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    ++digits;
  }
  return digits > 0 && sum % 10 == 0;
}

char cn_resident_id_check_char(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (std::size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return "10X98765432"[sum % 11];
}

bool cn_resident_id_valid(std::string_view id) {
  if (id.size() != 18) return false;
  for (std::size_t i = 0; i < 17; ++i)
    if (id[i] < '0' || id[i] > '9') return false;
  const char check = id[17] == 'x' ? 'X' : id[17];
  if (!valid_date(number(id.substr(6, 4)), number(id.substr(10, 2)), number(id.substr(12, 2))))
    return false;
  return cn_resident_id_check_char(id) == check;
}

PiiRules::PiiRules(PiiOptions options)
    : options_(std::move(options)),
      email_(kEmail),
      cn_id_(kCnId),
      card_(kCard),
      cn_mobile_(kCnMobile),
      international_(kInternational),
      landline_(kLandline) {}

PiiCounts PiiRules::mask(std::string& text) const {
  PiiCounts counts;
  // Nothing to find in text without '@' or digits: the common case costs one scan.
  bool has_at = false, has_digit = false;
  for (char c : text) {
    has_at = has_at || c == '@';
    has_digit = has_digit || (c >= '0' && c <= '9');
  }
  if (options_.email && has_at)
    counts.email = email_.replace(text, [&](std::string_view, std::string& out) {
      out = options_.email_replacement;
      return true;
    });
  if (!has_digit) return counts;
  if (options_.cn_id)
    counts.cn_id = cn_id_.replace(text, [&](std::string_view match, std::string& out) {
      if (!cn_resident_id_valid(match)) return false;
      out = options_.cn_id_mask == IdMask::full
                ? std::string(18, '*')
                : std::string(match.substr(0, 6)) + "********" + std::string(match.substr(14));
      return true;
    });
  if (options_.phone) {
    auto replace_phone = [&](std::string_view match, std::string& out) {
      out = options_.phone_replacement;
      (void)match;
      return true;
    };
    counts.phone += cn_mobile_.replace(text, replace_phone);
    counts.phone += international_.replace(text, [&](std::string_view match, std::string& out) {
      const std::size_t digits = count_digits(match);
      if (digits < 8 || digits > 15) return false;
      out = options_.phone_replacement;
      return true;
    });
    counts.phone += landline_.replace(text, replace_phone);
  }
  if (options_.card)
    counts.card = card_.replace(text, [&](std::string_view match, std::string& out) {
      if (!luhn_valid(match)) return false;
      std::string digits;
      for (char c : match)
        if (c >= '0' && c <= '9') digits.push_back(c);
      out = "****-****-****-" + digits.substr(digits.size() - 4);
      return true;
    });
  return counts;
}

}  // namespace lmf::data
