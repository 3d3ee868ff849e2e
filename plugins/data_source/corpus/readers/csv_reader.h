// The csv reader: RFC 4180 rows (quoted fields with delimiters, doubled quotes and line
// breaks inside), a header row or configured column names, each row rendered to text by
// the template (docs/data.md, "csv").
#pragma once

#include "io/line_splitter.h"
#include "readers/csv_template.h"
#include "readers/file_reader.h"

#include <memory>
#include <string_view>

namespace lmf::data {

// Splits one CSV record into its fields; false with `error` set when it is malformed.
bool split_csv_record(std::string_view record, char delimiter, std::vector<std::string>& fields,
                      std::string& error);

class CsvReader final : public FileReader {
 public:
  enum Reason { kMalformedCsv = 3, kWrongColumnCount };
  // Throws lmf::sdk::Error (invalid argument) for a template that does not parse.
  CsvReader(std::vector<InputFile> files, const SourceConfig& config);

  std::vector<std::string> reasons() const override;
  ParseError parse(RawRecord& raw, Record& out, bool& repaired) const override;

 protected:
  void begin_file(const InputFile& file) override;
  bool next_in_file(RawRecord* raw, FileIssue& issue) override;
  void end_file() override;
  uint64_t file_bytes_consumed() const override {
    return splitter_ ? splitter_->bytes_consumed() : 0;
  }

 private:
  class Columns;
  bool read_columns(FileIssue& issue);

  CsvTemplate template_;
  const InputFile* file_ = nullptr;
  std::unique_ptr<LineSplitter> splitter_;
  std::shared_ptr<const Columns> columns_;
  bool started_ = false;
  // Headerless files without configured names: the first row, read ahead to count them.
  bool pending_ = false;
  std::string pending_bytes_;
  LineSplitter::Line pending_line_;
};

}  // namespace lmf::data
