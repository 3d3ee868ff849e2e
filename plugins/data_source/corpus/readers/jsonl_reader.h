// The jsonl reader: one JSON object per line; the text is one field, a prompt and a
// response, or a chat's messages kept structured for SFT (docs/data.md, "jsonl").
#pragma once

#include "io/line_splitter.h"
#include "readers/file_reader.h"

#include <memory>

namespace lmf::data {

class JsonlReader final : public FileReader {
 public:
  enum Reason { kMalformedJson = 3, kMissingField, kWrongType };
  JsonlReader(std::vector<InputFile> files, const SourceConfig& config);

  std::vector<std::string> reasons() const override;
  ParseError parse(RawRecord& raw, Record& out, bool& repaired) const override;
  void render_text(const Record& record, std::string& out) const override;
  std::string render_fields(const Record& record) const override;

 protected:
  void begin_file(const InputFile& file) override;
  bool next_in_file(RawRecord* raw, FileIssue& issue) override;
  void end_file() override { splitter_.reset(); }
  uint64_t file_bytes_consumed() const override {
    return splitter_ ? splitter_->bytes_consumed() : 0;
  }

 private:
  const InputFile* file_ = nullptr;
  std::unique_ptr<LineSplitter> splitter_;
};

}  // namespace lmf::data
