#include "schema.h"

#include <string>

namespace lmf::data {

namespace {

// The stage list and the fields every component has. `extensions` is the default of the
// "extensions" field; `own` are the component's own properties.
std::string make_schema(const std::string& extensions, const std::string& own) {
  return R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["inputs"],
  "properties": {
    "inputs": {
      "type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},
      "description": "Files, folders and globs (*, ?, **), read in this order, the files of each sorted by path. Relative paths are resolved against the working directory."
    },
    "extensions": {
      "type": "array", "items": {"type": "string"}, "default": )" +
         extensions + R"(,
      "description": "Which files of a folder input are read ([] for all)."
    },
    "on_error": {
      "enum": ["skip", "fail"], "default": "skip",
      "description": "Bad input (malformed line, missing field, oversized record, wrong column count, empty or missing file): skip and count it, or fail naming file and line."
    },
    "invalid_utf8": {
      "enum": ["replace", "reject"], "default": "replace",
      "description": "replace: ill-formed bytes become U+FFFD and the record is counted as changed; reject: the record is bad input (on_error)."
    },
    "max_record_bytes": {"type": "integer", "minimum": 1, "default": 16777216,
      "description": "A longer record is measured but never read into memory, and is bad input."},
    "threads": {"type": "integer", "minimum": 0, "default": 0,
      "description": "Cleaning threads; 0 for all cores. The output does not depend on it."},
    "batch_records": {"type": "integer", "minimum": 1, "default": 256,
      "description": "Records per unit of parallel work."},
    "max_errors_listed": {"type": "integer", "minimum": 0, "default": 100,
      "description": "How many bad inputs the report lists (all are counted)."},
    "stages": {
      "type": "array", "items": {"$ref": "#/$defs/stage"},
      "default": ["unicode_normalize", "control_chars", "whitespace", "exact_dedup"],
      "description": "Cleaning stages, applied in this order."
    })" + own +
         R"(
  },
  "$defs": {
    "stage": {"oneOf": [
      {"enum": ["unicode_normalize", "control_chars", "whitespace", "url_strip", "pii_mask",
                "quality_filter", "exact_dedup", "near_dedup"]},
      {"$ref": "#/$defs/unicode_normalize"}, {"$ref": "#/$defs/control_chars"},
      {"$ref": "#/$defs/whitespace"}, {"$ref": "#/$defs/url_strip"}, {"$ref": "#/$defs/pii_mask"},
      {"$ref": "#/$defs/quality_filter"}, {"$ref": "#/$defs/exact_dedup"},
      {"$ref": "#/$defs/near_dedup"}
    ]},
    "unicode_normalize": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "unicode_normalize"},
        "form": {"enum": ["NFC", "NFKC"], "default": "NFC"}}},
    "control_chars": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "control_chars"},
        "remove_format": {"type": "boolean", "default": true},
        "remove_private_use": {"type": "boolean", "default": true},
        "remove_replacement_char": {"type": "boolean", "default": false},
        "max_symbol_run": {"type": "integer", "minimum": 0, "default": 0}}},
    "whitespace": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "whitespace"},
        "keep_newlines": {"type": "boolean", "default": true}}},
    "url_strip": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "url_strip"},
        "replacement": {"type": "string", "default": ""}}},
    "pii_mask": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "pii_mask"},
        "email": {"type": "boolean", "default": true},
        "phone": {"type": "boolean", "default": true},
        "card": {"type": "boolean", "default": true},
        "cn_id": {"type": "boolean", "default": true},
        "email_replacement": {"type": "string", "default": "[EMAIL]"},
        "phone_replacement": {"type": "string", "default": "[PHONE]"},
        "cn_id_mask": {"enum": ["partial", "full"], "default": "partial"}}},
    "quality_filter": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "quality_filter"},
        "min_chars": {"type": "integer", "minimum": 0, "default": 1},
        "max_chars": {"type": "integer", "minimum": 0, "default": 0},
        "min_words": {"type": "integer", "minimum": 0, "default": 1},
        "max_words": {"type": "integer", "minimum": 0, "default": 0},
        "max_symbol_word_ratio": {"type": "number", "minimum": 0, "default": 0.5},
        "ratio_min_words": {"type": "integer", "minimum": 0, "default": 10},
        "max_repeated_line_ratio": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5}}},
    "exact_dedup": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "exact_dedup"},
        "ignore_case": {"type": "boolean", "default": true},
        "ignore_whitespace": {"type": "boolean", "default": true}}},
    "near_dedup": {"type": "object", "additionalProperties": false, "required": ["stage"],
      "properties": {
        "stage": {"const": "near_dedup"},
        "threshold": {"type": "number", "minimum": 0.01, "maximum": 1, "default": 0.8},
        "num_perm": {"type": "integer", "minimum": 1, "maximum": 1024, "default": 128},
        "shingle": {"enum": ["auto", "char", "word"], "default": "auto"},
        "shingle_size": {"type": "integer", "minimum": 1, "default": 5},
        "seed": {"type": "integer", "minimum": 0, "default": 1},
        "bands": {"type": "integer", "minimum": 0, "default": 0},
        "rows": {"type": "integer", "minimum": 0, "default": 0},
        "verify": {"type": "boolean", "default": true}}}
  }
})";
}

}  // namespace

const char* jsonl_schema() {
  static const std::string schema = make_schema(R"([".jsonl"])", R"(,
    "format": {"enum": ["text", "prompt_response", "messages"], "default": "text",
      "description": "text: one text field; prompt_response: two fields kept as {prompt, response}; messages: a chat kept as {messages: [...]}."},
    "text_field": {"type": "string", "minLength": 1, "default": "text",
      "description": "A member name, or a JSON pointer when it starts with '/'."},
    "prompt_field": {"type": "string", "minLength": 1, "default": "prompt"},
    "response_field": {"type": "string", "minLength": 1, "default": "response"},
    "messages_field": {"type": "string", "minLength": 1, "default": "messages"},
    "separator": {"type": "string", "default": "\n",
      "description": "Between prompt and response, and between messages, in the rendered text."},
    "keep_fields": {"type": "array", "items": {"type": "string"}, "default": [],
      "description": "Other members copied verbatim into the record's fields; \"*\" for all."})");
  return schema.c_str();
}

const char* text_schema() {
  static const std::string schema = make_schema("[]", R"(,
    "unit": {"enum": ["file", "paragraph", "line"], "default": "file",
      "description": "One record per file, per paragraph (lines up to a blank line) or per non-blank line."})");
  return schema.c_str();
}

const char* csv_schema() {
  static const std::string schema = make_schema(R"([".csv"])", R"(,
    "template": {"type": "string", "default": "",
      "description": "The row as text: {column} is the column's value, {{ and }} are braces; empty: one 'column: value' line per column."},
    "delimiter": {"type": "string", "minLength": 1, "maxLength": 1, "default": ","},
    "header": {"type": "boolean", "default": true,
      "description": "Whether the first row names the columns."},
    "columns": {"type": "array", "items": {"type": "string"}, "default": [],
      "description": "Column names (overriding the header); without header and columns, they are 1, 2, 3, ..."},
    "keep_fields": {"type": "array", "items": {"type": "string"}, "default": [],
      "description": "Columns whose cleaned values go into the record's fields; \"*\" for all."})");
  return schema.c_str();
}

}  // namespace lmf::data
