#include "io/glob.h"

#include <vector>

namespace lmf::data {

namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) out.push_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool match_segments(const std::vector<std::string_view>& pattern, std::size_t p,
                    const std::vector<std::string_view>& path, std::size_t s) {
  while (p < pattern.size()) {
    if (pattern[p] == "**") {
      // `**` crosses visible folders only, as in shells.
      for (std::size_t skip = s; skip <= path.size(); ++skip) {
        if (match_segments(pattern, p + 1, path, skip)) return true;
        if (skip < path.size() && path[skip].front() == '.') return false;
      }
      return false;
    }
    if (s == path.size() || !match_segment(pattern[p], path[s])) return false;
    ++p;
    ++s;
  }
  return s == path.size();
}

}  // namespace

bool has_glob(std::string_view text) noexcept {
  return text.find_first_of("*?") != std::string_view::npos;
}

bool match_segment(std::string_view pattern, std::string_view segment) noexcept {
  // Hidden names match only patterns that start with '.' themselves, as in shells.
  if (!segment.empty() && segment.front() == '.' && (pattern.empty() || pattern.front() != '.'))
    return false;
  // Iterative wildcard matching with one backtrack point for the last '*'.
  std::size_t p = 0, s = 0, star = std::string_view::npos, resume = 0;
  while (s < segment.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = s;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == segment[s])) {
      if (pattern[p] == '?') {
        // '?' is one character: step over a whole UTF-8 sequence.
        ++s;
        while (s < segment.size() && (static_cast<unsigned char>(segment[s]) & 0xC0) == 0x80) ++s;
        ++p;
      } else {
        ++p;
        ++s;
      }
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool match_path(std::string_view pattern, std::string_view path) noexcept {
  return match_segments(split(pattern), 0, split(path), 0);
}

}  // namespace lmf::data
