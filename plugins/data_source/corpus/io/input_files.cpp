#include "io/input_files.h"

#include "io/glob.h"

#include <algorithm>
#include <set>
#include <system_error>

namespace lmf::data {

namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string working_directory() {
  std::error_code error;
  const fs::path cwd = fs::current_path(error);
  return error ? std::string("(unknown)") : cwd.string();
}

bool visible(const fs::path& relative) {
  for (const fs::path& part : relative)
    if (!part.empty() && part.native().front() == '.' && part != "." && part != "..") return false;
  return true;
}

bool wanted_extension(const fs::path& file, const std::vector<std::string>& extensions) {
  if (extensions.empty()) return true;
  const std::string extension = file.extension().string();
  return std::find(extensions.begin(), extensions.end(), extension) != extensions.end();
}

// Every visible regular file below `folder`, with `accept(relative path)` true.
template <class Accept>
std::vector<fs::path> walk(const fs::path& folder, std::size_t max_depth, Accept accept) {
  std::vector<fs::path> found;
  std::error_code error;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    const fs::path relative = it->path().lexically_relative(folder);
    const bool hidden = !relative.empty() && relative.filename().native().front() == '.';
    std::error_code status_error;
    if (it->is_directory(status_error)) {
      if (hidden || static_cast<std::size_t>(it.depth()) + 1 >= max_depth)
        it.disable_recursion_pending();
      continue;
    }
    if (hidden || !it->is_regular_file(status_error)) continue;
    if (accept(relative.generic_string())) found.push_back(it->path());
  }
  std::sort(found.begin(), found.end(),
            [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });
  return found;
}

std::vector<fs::path> expand_glob(const std::string& pattern) {
  // The literal segments in front form the folder to walk; the rest is matched.
  fs::path base = pattern.front() == '/' ? fs::path("/") : fs::path();
  std::vector<std::string> rest;
  std::size_t start = 0;
  bool literal = true;
  while (start <= pattern.size()) {
    const std::size_t slash = pattern.find('/', start);
    const std::size_t end = slash == std::string::npos ? pattern.size() : slash;
    const std::string segment = pattern.substr(start, end - start);
    if (!segment.empty()) {
      if (literal && !has_glob(segment) && slash != std::string::npos)
        base /= segment;
      else {
        literal = false;
        rest.push_back(segment);
      }
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string rest_pattern;
  for (const std::string& segment : rest)
    rest_pattern += (rest_pattern.empty() ? "" : "/") + segment;
  const bool deep = std::find(rest.begin(), rest.end(), "**") != rest.end();
  const fs::path folder = base.empty() ? fs::path(".") : base;
  std::vector<fs::path> found =
      walk(folder, deep ? SIZE_MAX : rest.size(),
           [&](const std::string& relative) { return match_path(rest_pattern, relative); });
  if (base.empty())  // "./x" would differ from the "x" the user wrote
    for (fs::path& file : found) file = file.lexically_relative(".");
  return found;
}

}  // namespace

ExpandedInputs expand_inputs(const std::vector<std::string>& inputs,
                             const std::vector<std::string>& extensions) {
  ExpandedInputs out;
  std::set<fs::path> seen;
  for (const std::string& input : inputs) {
    std::vector<fs::path> files;
    std::error_code error;
    if (input.empty()) {
      out.problems.push_back({input, "an input path is empty"});
      continue;
    }
    if (has_glob(input)) {
      files = expand_glob(input);
      if (files.empty())
        out.problems.push_back({input, "input \"" + input +
                                           "\": the pattern matches no file (relative paths are "
                                           "resolved against the working directory " +
                                           working_directory() + ")"});
    } else if (fs::is_directory(input, error)) {
      files = walk(input, SIZE_MAX, [&](const std::string& relative) {
        return visible(relative) && wanted_extension(relative, extensions);
      });
      if (files.empty())
        out.problems.push_back(
            {input,
             "input \"" + input + "\": the folder holds no file" +
                 (extensions.empty() ? std::string() : " with extension " + join(extensions))});
    } else if (fs::is_regular_file(input, error)) {
      files.push_back(input);
    } else if (fs::exists(input, error)) {
      out.problems.push_back({input, "input \"" + input + "\" is not a regular file or folder"});
    } else {
      out.problems.push_back({input, "input \"" + input +
                                         "\": no such file or folder (relative paths are "
                                         "resolved against the working directory " +
                                         working_directory() + ")"});
    }
    for (const fs::path& file : files) {
      std::error_code canonical_error;
      fs::path key = fs::weakly_canonical(file, canonical_error);
      if (canonical_error) key = fs::absolute(file);
      if (!seen.insert(key).second) {
        ++out.duplicates;
        continue;
      }
      std::error_code size_error;
      const uintmax_t size = fs::file_size(file, size_error);
      out.files.push_back(
          {file, file.generic_string(), size_error ? 0 : static_cast<uint64_t>(size)});
    }
  }
  return out;
}

}  // namespace lmf::data
