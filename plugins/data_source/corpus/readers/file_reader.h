// The part of every reader that walks the input files: opens them in order, numbers the
// records, counts the bytes, and reports files that yield no record or cannot be read.
#pragma once

#include "io/input_files.h"
#include "readers/reader.h"
#include "source_config.h"

namespace lmf::data {

class FileReader : public Reader {
 public:
  FileReader(std::vector<InputFile> files, const SourceConfig& config);

  bool next(ReadEvent& event) final;
  void skip_until(uint64_t record_id) final;
  void rewind() final;
  uint64_t next_id() const final { return next_id_; }
  uint64_t bytes_consumed() const final;

 protected:
  // Opens a file; throws std::runtime_error with the reason it cannot be read.
  virtual void begin_file(const InputFile& file) = 0;
  // A problem that ends a file early (a bad CSV header, a read error).
  struct FileIssue {
    std::string message;  // names the file; empty when there is none
    Report::FileProblem kind = Report::FileProblem::unreadable;
  };
  // The next record of the open file into `raw` (origin, bytes, size, oversized; `raw`
  // null: only move past it), or false at its end, or false with `issue` set.
  virtual bool next_in_file(RawRecord* raw, FileIssue& issue) = 0;
  virtual void end_file() = 0;
  virtual uint64_t file_bytes_consumed() const = 0;

  // The common checks of parse(): size and UTF-8 (Note [Oversized records]); on success
  // `raw.bytes` is valid UTF-8.
  ParseError check_raw(RawRecord& raw, bool& repaired) const;

  const SourceConfig& config_;

 private:
  bool advance(RawRecord* raw, ReadEvent* event);

  std::vector<InputFile> files_;
  std::size_t file_index_ = 0;
  bool open_ = false;
  uint64_t records_in_file_ = 0;
  uint64_t next_id_ = 0;
  uint64_t done_bytes_ = 0;
};

std::string origin_of(const InputFile& file, uint64_t line);

}  // namespace lmf::data
