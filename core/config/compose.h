#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/config/config_error.h"
#include "core/config/json_pointer.h"

namespace lmf::config {

// Note [Config origins]
// Every message about a configuration value names the file the user must edit. A
// composed document remembers, per JSON pointer, which source supplied the value there:
// a file path, or "--set key=value" for a command-line override. Only the roots of the
// values a source placed are recorded; the values under them inherit the record, so the
// origin of a pointer is that of its longest recorded prefix. Replacing a value erases the
// records beneath it. The key "" holds the top file, the fallback for everything.
struct ComposedConfig {
  nlohmann::json document = nlohmann::json::object();
  std::map<std::string, std::string, std::less<>> origins;

  // The source that supplied the value at `json_pointer` (Note [Config origins]).
  std::string file_of(std::string_view json_pointer) const;
  // Records `source` as the origin of the value at `json_pointer` and of all beneath it.
  void record_origin(const std::string& json_pointer, std::string source);
};

// Loads a pipeline file: a JSON object whose optional "include" (a path or an array of
// paths, relative to the including file) names files composed first, in order, each
// deep-merged over the previous ones; the file's own keys are merged last. Objects merge
// key by key; arrays and scalars are replaced. Throws ConfigError naming the file.
ComposedConfig load_config(const std::filesystem::path& file);

// Applies a command-line "a.b.0.c=value": '.' separates keys, an all-digit segment
// indexes an array, missing (or null) objects on the way are created. The value is JSON
// when it parses as JSON, else a plain string. Throws ConfigError naming the assignment.
// Defined in override.cpp.
void apply_override(ComposedConfig& config, std::string_view assignment);

}  // namespace lmf::config
