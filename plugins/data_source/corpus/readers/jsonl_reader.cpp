#include "readers/jsonl_reader.h"

#include <algorithm>

namespace lmf::data {

namespace {

using nlohmann::json;
using Format = JsonlOptions::Format;

const json* find_field(const json& object, const std::string& field) {
  if (field.front() == '/') {
    try {
      const json::json_pointer pointer(field);
      return object.contains(pointer) ? &object.at(pointer) : nullptr;
    } catch (const json::exception&) {
      return nullptr;  // e.g. a pointer into a string
    }
  }
  const auto it = object.find(field);
  return it == object.end() ? nullptr : &*it;
}

const char* type_name(const json& value) {
  return value.type_name();
}

}  // namespace

JsonlReader::JsonlReader(std::vector<InputFile> files, const SourceConfig& config)
    : FileReader(std::move(files), config) {}

std::vector<std::string> JsonlReader::reasons() const {
  return {"oversized",      "invalid_utf8",  "invalid_utf8_replaced",
          "malformed_json", "missing_field", "wrong_type"};
}

void JsonlReader::begin_file(const InputFile& file) {
  file_ = &file;
  splitter_ = std::make_unique<LineSplitter>(file.path, config_.max_record_bytes);
}

bool JsonlReader::next_in_file(RawRecord* raw, FileIssue&) {
  LineSplitter::Line line;
  while (splitter_->next(raw == nullptr ? nullptr : &raw->bytes, line)) {
    if (line.blank) continue;  // blank lines separate nothing and are not records
    if (raw != nullptr) {
      raw->origin = origin_of(*file_, line.first_line);
      raw->size = line.bytes;
      raw->oversized = line.oversized;
    }
    return true;
  }
  return false;
}

ParseError JsonlReader::parse(RawRecord& raw, Record& out, bool& repaired) const {
  if (ParseError error = check_raw(raw, repaired)) return error;
  json object;
  try {
    object = json::parse(raw.bytes);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    const std::size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);  // drop "[json.exception…]"
    return {kMalformedJson, raw.origin + ": malformed JSON: " + what};
  }
  if (!object.is_object())
    return {kMalformedJson, raw.origin + ": expected a JSON object, got " + type_name(object)};
  const JsonlOptions& o = config_.jsonl;

  auto text_of = [&](const std::string& field, std::string& text) -> ParseError {
    const json* value = find_field(object, field);
    if (value == nullptr) return {kMissingField, raw.origin + ": no field \"" + field + "\""};
    if (!value->is_string())
      return {kWrongType, raw.origin + ": field \"" + field + "\" is " + type_name(*value) +
                              ", expected a string"};
    text = value->get<std::string>();
    return {};
  };

  json kept = json::object();
  if (!o.keep_fields.empty()) {
    const bool all =
        std::find(o.keep_fields.begin(), o.keep_fields.end(), "*") != o.keep_fields.end();
    for (auto it = object.begin(); it != object.end(); ++it) {
      const bool used = (o.format == Format::text && it.key() == o.text_field) ||
                        (o.format == Format::prompt_response &&
                         (it.key() == o.prompt_field || it.key() == o.response_field)) ||
                        (o.format == Format::messages && it.key() == o.messages_field);
      if (used) continue;
      if (all ||
          std::find(o.keep_fields.begin(), o.keep_fields.end(), it.key()) != o.keep_fields.end())
        kept[it.key()] = it.value();
    }
  }

  out.renderer = this;
  switch (o.format) {
    case Format::text: {
      out.parts.resize(1);
      if (ParseError error = text_of(o.text_field, out.parts[0])) return error;
      if (kept.empty())
        out.renderer = nullptr;
      else
        out.structure = {{"kept", std::move(kept)}};
      break;
    }
    case Format::prompt_response: {
      out.parts.resize(2);
      if (ParseError error = text_of(o.prompt_field, out.parts[0])) return error;
      if (ParseError error = text_of(o.response_field, out.parts[1])) return error;
      out.structure = {{"kept", std::move(kept)}};
      break;
    }
    case Format::messages: {
      const json* messages = find_field(object, o.messages_field);
      if (messages == nullptr)
        return {kMissingField, raw.origin + ": no field \"" + o.messages_field + "\""};
      if (!messages->is_array())
        return {kWrongType, raw.origin + ": field \"" + o.messages_field + "\" is " +
                                type_name(*messages) + ", expected an array of messages"};
      if (messages->empty())
        return {kMissingField,
                raw.origin + ": field \"" + o.messages_field + "\" holds no message"};
      for (std::size_t i = 0; i < messages->size(); ++i) {
        const json& message = (*messages)[i];
        const std::string where =
            raw.origin + ": " + o.messages_field + "[" + std::to_string(i) + "]";
        if (!message.is_object())
          return {kWrongType, where + " is " + type_name(message) + ", expected an object"};
        const auto role = message.find("role");
        const auto content = message.find("content");
        if (role == message.end() || content == message.end())
          return {kMissingField, where + " needs \"role\" and \"content\""};
        if (!role->is_string() || !content->is_string())
          return {kWrongType, where + ": \"role\" and \"content\" must be strings"};
        out.parts.push_back(content->get<std::string>());
      }
      out.structure = {{"messages", *messages}, {"kept", std::move(kept)}};
      break;
    }
  }
  return {};
}

void JsonlReader::render_text(const Record& record, std::string& out) const {
  const std::string& separator = config_.jsonl.separator;
  switch (config_.jsonl.format) {
    case Format::text:
      out = record.parts.at(0);
      break;
    case Format::prompt_response:
      out = record.parts.at(0) + separator + record.parts.at(1);
      break;
    case Format::messages: {
      const json& messages = record.structure.at("messages");
      for (std::size_t i = 0; i < record.parts.size(); ++i) {
        if (i > 0) out += separator;
        out += messages[i].at("role").get_ref<const std::string&>();
        out += ": ";
        out += record.parts[i];
      }
      break;
    }
  }
}

std::string JsonlReader::render_fields(const Record& record) const {
  json fields = record.structure.value("kept", json::object());
  switch (config_.jsonl.format) {
    case Format::text:
      break;
    case Format::prompt_response:
      fields["prompt"] = record.parts.at(0);
      fields["response"] = record.parts.at(1);
      break;
    case Format::messages: {
      json messages = record.structure.at("messages");
      for (std::size_t i = 0; i < record.parts.size(); ++i)
        messages[i]["content"] = record.parts[i];
      fields["messages"] = std::move(messages);
      break;
    }
  }
  return fields.empty() ? std::string() : fields.dump();
}

}  // namespace lmf::data
