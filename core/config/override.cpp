// apply_override, declared in compose.h.
#include <charconv>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/config/compose.h"
#include "core/config/diagnostics.h"

namespace lmf::config {
namespace {

using nlohmann::json;

std::vector<std::string_view> split_key(std::string_view key) {
  std::vector<std::string_view> segments;
  while (true) {
    const std::size_t dot = key.find('.');
    segments.push_back(key.substr(0, dot));
    if (dot == std::string_view::npos) return segments;
    key.remove_prefix(dot + 1);
  }
}

std::optional<std::size_t> parse_index(std::string_view segment) {
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
  if (ec == std::errc::result_out_of_range) return SIZE_MAX;  // reported as out of range
  if (ec != std::errc() || end != segment.data() + segment.size()) return std::nullopt;
  return index;
}

// "4" is the number 4, "true" a boolean, "[1,2]" an array; "int4" is not JSON, and a
// shell makes quoting a string as "\"int4\"" tedious, so it stays a string.
json parse_value(std::string_view text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return json(std::string(text));
  return value;
}

}  // namespace

void apply_override(ComposedConfig& config, std::string_view assignment) {
  const std::string source = "--set " + std::string(assignment);
  const std::size_t equals = assignment.find('=');
  if (equals == std::string_view::npos) {
    throw ConfigError(source, "", "expected key=value, found no '='");
  }
  const std::string_view key = assignment.substr(0, equals);
  if (key.empty()) throw ConfigError(source, "", "empty key before '='");
  const std::vector<std::string_view> segments = split_key(key);
  for (std::string_view segment : segments) {
    if (segment.empty()) {
      throw ConfigError(source, "", "empty segment in key " + json_quoted(key));
    }
  }
  const json value = parse_value(assignment.substr(equals + 1));

  json* node = &config.document;
  std::string pointer;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string segment(segments[i]);
    const bool last = i + 1 == segments.size();
    json* child = nullptr;
    std::string child_pointer;
    if (node->is_object()) {
      child_pointer = append_pointer(pointer, segment);
      child = &(*node)[segment];
    } else if (node->is_array()) {
      const std::optional<std::size_t> index = parse_index(segment);
      if (!index) {
        throw ConfigError(source, pointer,
                          json_quoted(segment) +
                              " is not an array index; the value here is an array of " +
                              std::to_string(node->size()) + " elements");
      }
      if (*index >= node->size()) {
        throw ConfigError(source, pointer,
                          "index " + segment + " is out of range; the array has " +
                              std::to_string(node->size()) + " elements");
      }
      child_pointer = append_pointer(pointer, *index);
      child = &(*node)[*index];
    } else {
      throw ConfigError(source, pointer,
                        "cannot set " + json_quoted(segment) + " inside " + describe_value(*node) +
                            "; it is not an object or array");
    }
    if (last) {
      *child = value;
      config.record_origin(child_pointer, source);
      return;
    }
    // null means "unset" in a configuration, so it is as good as absent here.
    if (child->is_null()) {
      *child = json::object();
      config.record_origin(child_pointer, source);
    }
    node = child;
    pointer = std::move(child_pointer);
  }
}

}  // namespace lmf::config
