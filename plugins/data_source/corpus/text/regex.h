// A compiled PCRE2 pattern (UTF mode, JIT when available), shareable between threads:
// every search makes its own match data.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace lmf::data {

class Regex {
 public:
  // Throws std::invalid_argument naming the pattern and the offset of a compile error.
  explicit Regex(std::string_view pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls `on_match(begin, end)` for every non-overlapping match in valid UTF-8 `subject`,
  // left to right; returns the number of matches.
  std::size_t for_each(std::string_view subject,
                       const std::function<void(std::size_t, std::size_t)>& on_match) const;

  // Rewrites `text`: each match is passed to `replacement`, which writes what replaces it
  // into `out` and returns true, or returns false to keep the match as it is. Returns how
  // many matches were replaced.
  std::size_t replace(
      std::string& text,
      const std::function<bool(std::string_view match, std::string& out)>& replacement) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lmf::data
