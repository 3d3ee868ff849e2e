// Splits a file into records at line breaks, reading it in fixed-size chunks, so that no
// line ever has to fit in memory: a line longer than max_record_bytes is measured and
// skipped, never stored (Note [Oversized records]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace lmf::data {

// Note [Oversized records]
// A record (a jsonl line, a CSV row, a paragraph, a whole text file) may be longer than
// the memory anyone wants to give it: a 100 MB single line is one bad export away. The
// splitter appends a record's bytes to its output only while the total stays within
// max_record_bytes; past that it drops what it holds, goes on counting bytes up to the
// end of the record, and reports it as oversized. Memory stays at one read chunk plus
// max_record_bytes, whatever the input. The record still gets its id, and the reader
// counts it as dropped ("oversized") or fails, per the on_error policy.

class LineSplitter {
 public:
  // How line breaks inside a record are recognized.
  enum class Quoting {
    none,  // every '\n' ends a record
    csv,   // RFC 4180: a '\n' inside a quoted field belongs to the field
  };
  struct Line {
    uint64_t first_line = 0;  // 1-based line number where the record starts
    uint64_t bytes = 0;       // the record's size in the file, without its line break
    bool oversized = false;   // longer than max_record_bytes; `text` is then empty
    bool blank = false;       // nothing but spaces, tabs and '\r'
  };

  static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

  // Opens `file`; throws std::runtime_error naming the file when it cannot be read.
  LineSplitter(const std::filesystem::path& file, std::size_t max_record_bytes,
               Quoting quoting = Quoting::none, char delimiter = ',');
  ~LineSplitter();
  LineSplitter(const LineSplitter&) = delete;
  LineSplitter& operator=(const LineSplitter&) = delete;

  // The next record into `text` (without its "\n" or "\r\n"), or false at the end of the
  // file. With `text` == nullptr the record is only measured (cheap skipping). A UTF-8
  // byte order mark at the start of the file is dropped.
  bool next(std::string* text, Line& line);

  // Bytes of the file consumed so far (records and their line breaks).
  uint64_t bytes_consumed() const { return consumed_; }

 private:
  bool refill();
  // Scans buffer_[pos_, end_) for the end of the record; returns its offset or npos, and
  // counts the line breaks inside quoted fields.
  std::size_t find_end();

  std::FILE* file_ = nullptr;
  std::string path_;
  std::size_t max_record_bytes_;
  Quoting quoting_;
  char delimiter_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, end_ = 0;
  bool eof_ = false, started_ = false;
  uint64_t line_ = 1;  // the line the scanner is on
  uint64_t consumed_ = 0;
  int csv_state_ = 0;
};

}  // namespace lmf::data
