// The text reader: plain text files, one record per file, per paragraph (lines up to a
// blank line, joined with "\n") or per non-blank line (docs/data.md, "text").
#pragma once

#include "io/line_splitter.h"
#include "readers/file_reader.h"

#include <memory>

namespace lmf::data {

class TextReader final : public FileReader {
 public:
  TextReader(std::vector<InputFile> files, const SourceConfig& config);

  std::vector<std::string> reasons() const override;
  ParseError parse(RawRecord& raw, Record& out, bool& repaired) const override;

 protected:
  void begin_file(const InputFile& file) override;
  bool next_in_file(RawRecord* raw, FileIssue& issue) override;
  void end_file() override;
  uint64_t file_bytes_consumed() const override;

 private:
  bool next_file_record(RawRecord* raw);
  bool next_paragraph(RawRecord* raw);

  const InputFile* file_ = nullptr;
  std::unique_ptr<LineSplitter> splitter_;
  bool whole_file_done_ = false;
  uint64_t whole_file_bytes_ = 0;
  std::string line_;  // paragraph mode: the line just read
  LineSplitter::Line line_info_;
};

}  // namespace lmf::data
