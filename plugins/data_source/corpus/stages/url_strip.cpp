#include "stages/url_strip.h"

#include <algorithm>

namespace lmf::data {

namespace {

constexpr const char* kUrlPattern =
    R"((?<![A-Za-z0-9@.])(?:(?:https?|ftp)://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+)"
    R"(|www\.[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*))";

// How much of a match is really the URL (Note [URLs]).
std::size_t url_length(std::string_view match) {
  std::size_t end = match.size();
  while (end > 0) {
    const char last = match[end - 1];
    if (std::string_view(".,;:!?'\"").find(last) != std::string_view::npos) {
      --end;
      continue;
    }
    if (last == ')' || last == ']') {
      const char open = last == ')' ? '(' : '[';
      const std::string_view url = match.substr(0, end);
      if (std::count(url.begin(), url.end(), open) < std::count(url.begin(), url.end(), last)) {
        --end;
        continue;
      }
    }
    break;
  }
  return end;
}

}  // namespace

UrlStrip::UrlStrip(std::string replacement)
    : TransformStage("url_strip", {"url"}),
      replacement_(std::move(replacement)),
      pattern_(kUrlPattern) {}

bool UrlStrip::transform(std::string& text, Tally& tally) const {
  const std::size_t removed = pattern_.replace(text, [&](std::string_view match, std::string& out) {
    const std::size_t length = url_length(match);
    out = replacement_;
    out.append(match.substr(length));
    return true;
  });
  tally.reasons[0] += removed;
  return removed > 0;
}

}  // namespace lmf::data
