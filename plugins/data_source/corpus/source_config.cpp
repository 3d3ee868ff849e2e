#include "source_config.h"

#include <lmf/sdk/error.h>

namespace lmf::data {

namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& message) {
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "config field \"" + field + "\": " + message);
}

std::string get_string(const json& config, const char* field, const std::string& fallback) {
  const auto it = config.find(field);
  if (it == config.end()) return fallback;
  if (!it->is_string()) bad(field, "expected a string, got " + it->dump());
  return it->get<std::string>();
}

std::size_t get_size(const json& config, const char* field, std::size_t fallback) {
  const auto it = config.find(field);
  if (it == config.end()) return fallback;
  if (!it->is_number_unsigned()) bad(field, "expected an integer >= 0, got " + it->dump());
  return it->get<std::size_t>();
}

bool get_bool(const json& config, const char* field, bool fallback) {
  const auto it = config.find(field);
  if (it == config.end()) return fallback;
  if (!it->is_boolean()) bad(field, "expected true or false, got " + it->dump());
  return it->get<bool>();
}

std::vector<std::string> get_strings(const json& config, const char* field,
                                     std::vector<std::string> fallback) {
  const auto it = config.find(field);
  if (it == config.end()) return fallback;
  if (!it->is_array()) bad(field, "expected an array of strings, got " + it->dump());
  std::vector<std::string> out;
  for (const json& item : *it) {
    if (!item.is_string()) bad(field, "expected an array of strings, got " + it->dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

template <class Enum>
Enum get_enum(const json& config, const char* field, Enum fallback,
              std::initializer_list<std::pair<const char*, Enum>> values) {
  const auto it = config.find(field);
  if (it == config.end()) return fallback;
  std::string allowed;
  for (const auto& [name, value] : values) {
    if (it->is_string() && it->get<std::string>() == name) return value;
    allowed += (allowed.empty() ? "" : ", ") + std::string("\"") + name + "\"";
  }
  bad(field, "expected one of " + allowed + ", got " + it->dump());
}

}  // namespace

const char* kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::text:
      return "text";
    case SourceKind::csv:
      return "csv";
    default:
      return "jsonl";
  }
}

SourceConfig parse_source_config(SourceKind kind, const json& config) {
  if (!config.is_object()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "the config must be a JSON object");
  SourceConfig out;
  out.kind = kind;
  out.inputs = get_strings(config, "inputs", {});
  if (out.inputs.empty()) bad("inputs", "list at least one file, folder or glob");
  const std::vector<std::string> default_extensions =
      kind == SourceKind::jsonl ? std::vector<std::string>{".jsonl"}
      : kind == SourceKind::csv ? std::vector<std::string>{".csv"}
                                : std::vector<std::string>{};
  out.extensions = get_strings(config, "extensions", default_extensions);
  out.on_error = get_enum(config, "on_error", OnError::skip,
                          {{"skip", OnError::skip}, {"fail", OnError::fail}});
  out.invalid_utf8 = get_enum(config, "invalid_utf8", InvalidUtf8::replace,
                              {{"replace", InvalidUtf8::replace}, {"reject", InvalidUtf8::reject}});
  out.max_record_bytes = get_size(config, "max_record_bytes", out.max_record_bytes);
  if (out.max_record_bytes == 0) bad("max_record_bytes", "must be at least 1");
  out.threads = get_size(config, "threads", 0);
  out.max_errors_listed = get_size(config, "max_errors_listed", out.max_errors_listed);
  out.batch_records = get_size(config, "batch_records", out.batch_records);
  if (out.batch_records == 0) bad("batch_records", "must be at least 1");
  out.stages =
      config.contains("stages")
          ? config.at("stages")
          : json::array({"unicode_normalize", "control_chars", "whitespace", "exact_dedup"});
  if (!out.stages.is_array()) bad("stages", "expected an array, got " + out.stages.dump());

  switch (kind) {
    case SourceKind::jsonl: {
      JsonlOptions& o = out.jsonl;
      o.format = get_enum(config, "format", JsonlOptions::Format::text,
                          {{"text", JsonlOptions::Format::text},
                           {"prompt_response", JsonlOptions::Format::prompt_response},
                           {"messages", JsonlOptions::Format::messages}});
      o.text_field = get_string(config, "text_field", o.text_field);
      o.prompt_field = get_string(config, "prompt_field", o.prompt_field);
      o.response_field = get_string(config, "response_field", o.response_field);
      o.messages_field = get_string(config, "messages_field", o.messages_field);
      o.separator = get_string(config, "separator", o.separator);
      o.keep_fields = get_strings(config, "keep_fields", {});
      const std::pair<const char*, const std::string*> fields[] = {
          {"text_field", &o.text_field},
          {"prompt_field", &o.prompt_field},
          {"response_field", &o.response_field},
          {"messages_field", &o.messages_field}};
      for (const auto& [name, value] : fields) {
        if (value->empty()) bad(name, "a field name must not be empty");
        if (value->front() != '/') continue;
        try {
          (void)json::json_pointer(*value);
        } catch (const json::exception& e) {
          bad(name, "\"" + *value + "\" is not a valid JSON pointer: " + e.what());
        }
      }
      break;
    }
    case SourceKind::text:
      out.text.unit = get_enum(config, "unit", TextOptions::Unit::file,
                               {{"file", TextOptions::Unit::file},
                                {"paragraph", TextOptions::Unit::paragraph},
                                {"line", TextOptions::Unit::line}});
      break;
    case SourceKind::csv: {
      CsvOptions& o = out.csv;
      o.template_text = get_string(config, "template", "");
      const std::string delimiter = get_string(config, "delimiter", ",");
      if (delimiter.size() != 1 || delimiter[0] == '"' || delimiter[0] == '\n' ||
          delimiter[0] == '\r')
        bad("delimiter",
            "expected one character other than '\"' and line breaks, got \"" + delimiter + "\"");
      o.delimiter = delimiter[0];
      o.header = get_bool(config, "header", true);
      o.columns = get_strings(config, "columns", {});
      o.keep_fields = get_strings(config, "keep_fields", {});
      break;
    }
  }
  return out;
}

}  // namespace lmf::data
