#include "core/planner/units.h"

#include "core/planner/plan_error.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

namespace lmf::planner {
namespace {

std::string printf_string(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// 1234567 -> "1,234,567"
std::string thousands(double value) {
  std::string digits = printf_string("%.0f", std::round(value));
  std::string out;
  const std::size_t start = digits[0] == '-' ? 1 : 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > start && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string format_bytes(double bytes) {
  if (bytes >= 1e12) return printf_string("%.2f TB", bytes / 1e12);
  if (bytes >= 100 * kGB) return printf_string("%.1f GB", bytes / kGB);
  if (bytes > 0 && bytes < 0.1 * kGB) return printf_string("%.1f MB", bytes / 1e6);
  return printf_string("%.2f GB", bytes / kGB);
}

std::string format_count(double count) {
  const double magnitude = std::fabs(count);
  if (magnitude >= 1e12) return printf_string("%.2f T", count / 1e12);
  if (magnitude >= 1e9) return printf_string("%.2f B", count / 1e9);
  if (magnitude >= 1e6) return printf_string("%.1f M", count / 1e6);
  if (magnitude >= 1e4) return printf_string("%.1f K", count / 1e3);
  return printf_string("%.0f", count);
}

std::string format_duration(double seconds) {
  if (!(seconds > 0)) return "-";
  if (seconds < 1) return printf_string("%.0f ms", seconds * 1e3);
  if (seconds < 120) return printf_string("%.1f s", seconds);
  if (seconds < 2 * 3600) return printf_string("%.1f min", seconds / 60);
  if (seconds < 48 * 3600) return printf_string("%.1f h", seconds / 3600);
  if (seconds < 730 * 86400) return printf_string("%.1f days", seconds / 86400);
  return printf_string("%.1f years", seconds / (365 * 86400.0));
}

std::string format_money(double amount, const std::string& currency) {
  if (amount < 0) return "n/a";
  if (amount < 100 && amount != std::floor(amount)) {  // hourly prices: keep the cents
    const std::string cents = printf_string("%.2f", amount);
    if (currency == "CNY") return "\u00a5" + cents;
    if (currency == "USD") return "$" + cents;
    return currency.empty() ? cents : currency + " " + cents;
  }
  if (currency == "CNY") return "\u00a5" + thousands(amount);
  if (currency == "USD") return "$" + thousands(amount);
  if (currency.empty()) return thousands(amount);
  return currency + " " + thousands(amount);
}

std::string format_number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e7) return printf_string("%.0f", value);
  return printf_string("%.4g", value);
}

double parse_count(const std::string& text, const std::string& option) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string suffix = text.substr(used);
  double scale = 1;
  if (suffix.size() == 1) {
    switch (std::tolower(static_cast<unsigned char>(suffix[0]))) {
      case 'k':
        scale = 1e3;
        break;
      case 'm':
        scale = 1e6;
        break;
      case 'b':
      case 'g':
        scale = 1e9;
        break;
      case 't':
        scale = 1e12;
        break;
      default:
        scale = 0;
    }
  } else if (!suffix.empty()) {
    scale = 0;
  }
  if (used == 0 || scale == 0 || !(value > 0) || !std::isfinite(value))
    throw PlanError(option + " " + text +
                    ": expected a positive count such as 7e9, 70B, 1.5T, 500M or 100k");
  return value * scale;
}

}  // namespace lmf::planner
