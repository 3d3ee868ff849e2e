#include "readers/csv_reader.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <stdexcept>

namespace lmf::data {

using nlohmann::json;

bool split_csv_record(std::string_view record, char delimiter, std::vector<std::string>& fields,
                      std::string& error) {
  fields.clear();
  std::size_t i = 0;
  for (;;) {
    std::string field;
    if (i < record.size() && record[i] == '"') {
      ++i;
      for (;;) {
        if (i >= record.size()) {
          error = "a quoted field is not closed";
          return false;
        }
        if (record[i] == '"') {
          if (i + 1 < record.size() && record[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(record[i++]);
      }
      if (i < record.size() && record[i] != delimiter) {
        error = "unexpected character after the closing quote of field " +
                std::to_string(fields.size() + 1) + " (byte " + std::to_string(i) + ")";
        return false;
      }
    } else {
      const std::size_t end = std::min(record.find(delimiter, i), record.size());
      field.assign(record.substr(i, end - i));
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= record.size()) return true;
    ++i;  // the delimiter
  }
}

// The columns of one file and how its rows render: shared by the file's records.
class CsvReader::Columns final : public Renderer {
 public:
  Columns(std::vector<std::string> column_names, CsvTemplate bound,
          std::vector<std::size_t> kept_columns, uint64_t header_row)
      : names(std::move(column_names)),
        render_(std::move(bound)),
        kept(std::move(kept_columns)),
        header_line(header_row) {}

  void render_text(const Record& record, std::string& out) const override {
    render_.render(names, record.parts, out);
  }
  std::string render_fields(const Record& record) const override {
    if (kept.empty()) return {};
    json fields = json::object();
    for (std::size_t column : kept) fields[names[column]] = record.parts.at(column);
    return fields.dump();
  }

  std::vector<std::string> names;
  CsvTemplate render_;
  std::vector<std::size_t> kept;
  uint64_t header_line;  // 0 without a header row
};

CsvReader::CsvReader(std::vector<InputFile> files, const SourceConfig& config)
    : FileReader(std::move(files), config), template_([&] {
        try {
          return CsvTemplate(config.csv.template_text);
        } catch (const std::invalid_argument& e) {
          sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                    std::string("config field \"template\": ") + e.what());
        }
      }()) {}

std::vector<std::string> CsvReader::reasons() const {
  return {"oversized", "invalid_utf8", "invalid_utf8_replaced", "malformed_csv",
          "wrong_column_count"};
}

void CsvReader::begin_file(const InputFile& file) {
  file_ = &file;
  splitter_ = std::make_unique<LineSplitter>(file.path, config_.max_record_bytes,
                                             LineSplitter::Quoting::csv, config_.csv.delimiter);
  columns_.reset();
  started_ = false;
  pending_ = false;
}

void CsvReader::end_file() {
  splitter_.reset();
  columns_.reset();
  pending_bytes_.clear();
  pending_ = false;
}

// Reads the header row (or, without one, looks at the first row) and binds the template.
bool CsvReader::read_columns(FileIssue& issue) {
  const CsvOptions& o = config_.csv;
  std::vector<std::string> names = o.columns;
  uint64_t header_line = 0;
  std::string first;
  LineSplitter::Line line;
  if (o.header || names.empty()) {
    do {
      if (!splitter_->next(&first, line)) return false;  // no row at all: an empty file
    } while (line.blank);
    const std::string where = origin_of(*file_, line.first_line);
    if (line.oversized) {
      issue = {where + ": the " + std::string(o.header ? "header" : "first") +
                   " row is longer than max_record_bytes",
               Report::FileProblem::bad_header};
      return false;
    }
    std::vector<std::string> fields;
    std::string error;
    if (!split_csv_record(first, o.delimiter, fields, error)) {
      issue = {
          where + ": malformed " + std::string(o.header ? "header" : "first") + " row: " + error,
          Report::FileProblem::bad_header};
      return false;
    }
    if (o.header) {
      header_line = line.first_line;
      if (names.empty()) names = std::move(fields);
    } else {
      for (std::size_t i = 1; i <= fields.size(); ++i) names.push_back(std::to_string(i));
      pending_ = true;  // the row read is data
      pending_bytes_ = std::move(first);
      pending_line_ = line;
    }
  }
  CsvTemplate bound = template_;
  const std::vector<std::string> unknown = bound.bind(names);
  if (!unknown.empty()) {
    std::string missing, have;
    for (const std::string& name : unknown) missing += (missing.empty() ? "{" : ", {") + name + "}";
    for (const std::string& name : names) have += (have.empty() ? "" : ", ") + name;
    issue = {file_->name + ": the template uses " + missing + ", which the columns (" + have +
                 ") do not have",
             Report::FileProblem::bad_header};
    return false;
  }
  std::vector<std::size_t> kept;
  const bool all =
      std::find(o.keep_fields.begin(), o.keep_fields.end(), "*") != o.keep_fields.end();
  for (std::size_t i = 0; i < names.size(); ++i)
    if (all ||
        std::find(o.keep_fields.begin(), o.keep_fields.end(), names[i]) != o.keep_fields.end())
      kept.push_back(i);
  columns_ = std::make_shared<const Columns>(std::move(names), std::move(bound), std::move(kept),
                                             header_line);
  return true;
}

bool CsvReader::next_in_file(RawRecord* raw, FileIssue& issue) {
  if (!started_) {
    started_ = true;
    if (!read_columns(issue)) return false;
  }
  if (!columns_) return false;
  LineSplitter::Line line;
  if (pending_) {
    pending_ = false;
    line = pending_line_;
    if (raw != nullptr) raw->bytes = std::move(pending_bytes_);
  } else {
    do {
      if (!splitter_->next(raw == nullptr ? nullptr : &raw->bytes, line)) return false;
    } while (line.blank);
  }
  if (raw != nullptr) {
    raw->origin = origin_of(*file_, line.first_line);
    raw->size = line.bytes;
    raw->oversized = line.oversized;
    raw->context = columns_;
  }
  return true;
}

ParseError CsvReader::parse(RawRecord& raw, Record& out, bool& repaired) const {
  if (ParseError error = check_raw(raw, repaired)) return error;
  const auto& columns = *static_cast<const Columns*>(raw.context.get());
  std::string error;
  if (!split_csv_record(raw.bytes, config_.csv.delimiter, out.parts, error))
    return {kMalformedCsv, raw.origin + ": malformed CSV row: " + error};
  if (out.parts.size() != columns.names.size())
    return {kWrongColumnCount,
            raw.origin + ": expected " + std::to_string(columns.names.size()) + " columns" +
                (columns.header_line > 0
                     ? " (as the header at line " + std::to_string(columns.header_line) + ")"
                     : std::string()) +
                ", got " + std::to_string(out.parts.size())};
  out.renderer = &columns;
  out.owner = raw.context;
  return {};
}

}  // namespace lmf::data
