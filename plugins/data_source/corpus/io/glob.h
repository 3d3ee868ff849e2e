// Glob patterns over paths: `*` and `?` match within one path segment (never '/'), a
// segment that is exactly `**` matches zero or more whole segments. As in shells, names
// starting with '.' match only pattern segments that start with '.'.
#pragma once

#include <string_view>

namespace lmf::data {

// Whether `text` contains a glob metacharacter (`*` or `?`).
bool has_glob(std::string_view text) noexcept;

// Whether one path segment matches one pattern segment (`*`, `?`, literal characters).
bool match_segment(std::string_view pattern, std::string_view segment) noexcept;

// Whether a '/'-separated relative path matches a '/'-separated pattern.
bool match_path(std::string_view pattern, std::string_view path) noexcept;

}  // namespace lmf::data
