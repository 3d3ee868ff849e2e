// The configuration of the three components, as the plugin uses it (the JSON Schema the
// host validates against is in schema.cpp; docs/data.md describes every field).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace lmf::data {

enum class SourceKind { jsonl, text, csv };
enum class OnError { skip, fail };
enum class InvalidUtf8 { replace, reject };

struct JsonlOptions {
  enum class Format { text, prompt_response, messages };
  Format format = Format::text;
  std::string text_field = "text";  // a member name, or a JSON pointer when it starts with '/'
  std::string prompt_field = "prompt";
  std::string response_field = "response";
  std::string messages_field = "messages";
  std::string separator = "\n";
  std::vector<std::string> keep_fields;
};

struct TextOptions {
  enum class Unit { file, paragraph, line };
  Unit unit = Unit::file;
};

struct CsvOptions {
  std::string template_text;  // "" renders "column: value" lines
  char delimiter = ',';
  bool header = true;
  std::vector<std::string> columns;  // names when there is no header row
  std::vector<std::string> keep_fields;
};

struct SourceConfig {
  SourceKind kind = SourceKind::jsonl;
  std::vector<std::string> inputs;
  std::vector<std::string> extensions;
  OnError on_error = OnError::skip;
  InvalidUtf8 invalid_utf8 = InvalidUtf8::replace;
  std::size_t max_record_bytes = std::size_t{16} << 20;
  std::size_t threads = 0;  // 0: all cores
  std::size_t max_errors_listed = 100;
  std::size_t batch_records = 256;
  nlohmann::json stages;  // the stage list, validated against the schema
  JsonlOptions jsonl;
  TextOptions text;
  CsvOptions csv;
};

const char* kind_name(SourceKind kind);

// Reads a config (defaults for absent members, as the schema gives them); throws
// lmf::sdk::Error(LMF_ERR_INVALID_ARGUMENT) naming the field for a value it cannot use.
SourceConfig parse_source_config(SourceKind kind, const nlohmann::json& config);

}  // namespace lmf::data
