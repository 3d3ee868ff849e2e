#include "core/config/compose.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

#include "core/config/diagnostics.h"

namespace lmf::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Origins = std::map<std::string, std::string, std::less<>>;

// The records strictly beneath `pointer`. They are contiguous in the map from
// `pointer + "/"` on; not from `pointer` itself, since "/a-b" sorts between "/a" and "/a/b".
std::pair<Origins::const_iterator, Origins::const_iterator> beneath(const Origins& origins,
                                                                    const std::string& pointer) {
  const std::string prefix = pointer + "/";
  const auto first = origins.lower_bound(prefix);
  auto last = first;
  while (last != origins.end() && last->first.starts_with(prefix)) ++last;
  return {first, last};
}

std::string read_text(const fs::path& path, const std::string& name) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) throw ConfigError(name, "", "file not found");
  if (fs::is_directory(status)) throw ConfigError(name, "", "is a directory, not a JSON file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(name, "", "cannot open the file for reading");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw ConfigError(name, "", "error while reading the file");
  return text;
}

// nlohmann reports the number of bytes read; editors want the line and column of the
// character that failed, 1-based.
ConfigError syntax_error(const std::string& name, const std::string& text,
                         const json::parse_error& error) {
  const std::size_t failed_at = std::min(error.byte == 0 ? 0 : error.byte - 1, text.size());
  const std::size_t line_start =
      failed_at == 0 ? std::string::npos : text.rfind('\n', failed_at - 1);
  const auto line = 1 + std::count(text.begin(), text.begin() + failed_at, '\n');
  const std::size_t column =
      line_start == std::string::npos ? failed_at + 1 : failed_at - line_start;
  // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: ".
  std::string message = error.what();
  const std::size_t position = message.find("parse error");
  const std::size_t colon = message.find(": ", position == std::string::npos ? 0 : position);
  if (colon != std::string::npos) message = message.substr(colon + 2);
  return ConfigError(name, static_cast<int>(line), static_cast<int>(column), message);
}

json parse_file(const fs::path& path, const std::string& name) {
  const std::string text = read_text(path, name);
  try {
    return json::parse(text);
  } catch (const json::parse_error& error) {
    throw syntax_error(name, text, error);
  }
}

// The values of `source` replace or merge into `target` (Note [Config origins]).
void merge_object(ComposedConfig& target, json& into, const json& from,
                  const ComposedConfig& source, const std::string& pointer) {
  for (const auto& [key, value] : from.items()) {
    const std::string child = append_pointer(pointer, key);
    const auto existing = into.find(key);
    if (existing != into.end() && existing->is_object() && value.is_object()) {
      merge_object(target, *existing, value, source, child);
      continue;
    }
    into[key] = value;
    target.record_origin(child, source.file_of(child));
    const auto [first, last] = beneath(source.origins, child);
    target.origins.insert(first, last);
  }
}

struct Include {
  std::string pointer;  // where it is written, for messages
  std::string path;
};

std::vector<Include> include_list(const json& document, const std::string& name) {
  const auto include = document.find("include");
  if (include == document.end()) return {};
  if (include->is_string()) return {{"/include", include->get<std::string>()}};
  if (!include->is_array()) {
    throw ConfigError(name, "/include",
                      "expected string or array of strings, got " + describe_value(*include));
  }
  std::vector<Include> includes;
  for (std::size_t i = 0; i < include->size(); ++i) {
    const json& entry = (*include)[i];
    const std::string pointer = append_pointer("/include", i);
    if (!entry.is_string()) {
      throw ConfigError(name, pointer, "expected string, got " + describe_value(entry));
    }
    includes.push_back({pointer, entry.get<std::string>()});
  }
  return includes;
}

// Two spellings of one file ("a/../b.json", a symlink) must be seen as the same file, or an
// include cycle would go unnoticed until the stack overflows.
fs::path identity_of(const fs::path& path) {
  std::error_code ec;
  fs::path identity = fs::weakly_canonical(path, ec);
  if (ec) identity = fs::absolute(path, ec).lexically_normal();
  return identity;
}

class Loader {
 public:
  ComposedConfig load(const fs::path& path, const std::string& name) {
    json document = parse_file(path, name);
    if (!document.is_object()) {
      throw ConfigError(name, "",
                        "expected a JSON object at the top level, got " + describe_value(document));
    }
    const std::vector<Include> includes = include_list(document, name);
    document.erase("include");

    chain_.push_back({identity_of(path), name});

    ComposedConfig composed;
    composed.origins[""] = name;
    for (const Include& include : includes) {
      const ComposedConfig included = load_include(path, name, include);
      merge_object(composed, composed.document, included.document, included, "");
    }
    ComposedConfig own;
    own.origins[""] = name;
    merge_object(composed, composed.document, document, own, "");

    chain_.pop_back();
    return composed;
  }

 private:
  struct Link {
    fs::path identity;
    std::string name;
  };

  ComposedConfig load_include(const fs::path& including, const std::string& including_name,
                              const Include& include) {
    const std::string& pointer = include.pointer;
    if (include.path.empty()) throw ConfigError(including_name, pointer, "empty include path");
    const fs::path path = (including.parent_path() / include.path).lexically_normal();
    const std::string name = path.string();

    const fs::path identity = identity_of(path);
    const auto repeat = std::find_if(chain_.begin(), chain_.end(),
                                     [&](const Link& link) { return link.identity == identity; });
    if (repeat != chain_.end()) {
      std::string cycle;
      for (auto it = repeat; it != chain_.end(); ++it) cycle += it->name + " -> ";
      throw ConfigError(including_name, pointer, "include cycle: " + cycle + name);
    }
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      throw ConfigError(including_name, pointer,
                        "included file " + json_quoted(include.path) + " not found (looked for " +
                            json_quoted(name) + ")");
    }
    return load(path, name);
  }

  std::vector<Link> chain_;
};

}  // namespace

std::string ComposedConfig::file_of(std::string_view json_pointer) const {
  while (true) {
    const auto it = origins.find(json_pointer);
    if (it != origins.end()) return it->second;
    if (json_pointer.empty()) return "";
    const std::size_t slash = json_pointer.rfind('/');
    json_pointer = slash == std::string_view::npos ? "" : json_pointer.substr(0, slash);
  }
}

void ComposedConfig::record_origin(const std::string& json_pointer, std::string source) {
  const auto [first, last] = beneath(origins, json_pointer);
  origins.erase(first, last);
  origins[json_pointer] = std::move(source);
}

ComposedConfig load_config(const std::filesystem::path& file) {
  return Loader().load(file, file.string());
}

}  // namespace lmf::config
