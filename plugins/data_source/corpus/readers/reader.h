// A reader turns input files into records: serially, in order, the raw bytes of each
// record with its id; then, in parallel, each raw record parsed into parts
// (Note [Parts and rendering]).
#pragma once

#include "pipeline/record.h"
#include "pipeline/report.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lmf::data {

struct RawRecord {
  uint64_t id = 0;
  std::string origin;  // "file:line"
  std::string bytes;   // empty when oversized
  uint64_t size = 0;   // the record's size in the file
  bool oversized = false;
  std::shared_ptr<const void> context;  // per-file state that parsing needs (a CSV header)
};

// What the serial side yields: a record, or a problem with a whole file.
struct ReadEvent {
  bool is_record = true;
  RawRecord raw;
  Report::FileProblem problem = Report::FileProblem::empty;
  std::string origin;   // the file, for a problem
  std::string message;  // for a problem: what is wrong, naming the file
};

// Why a record could not be read: an index into Reader::reasons(), and a message that
// starts with the record's origin.
struct ParseError {
  int reason = -1;
  std::string message;
  explicit operator bool() const { return reason >= 0; }
};

class Reader : public Renderer {
 public:
  // The "read" stage's reasons: these three for every reader, then the reader's own.
  static constexpr int kOversized = 0;
  static constexpr int kInvalidUtf8 = 1;
  static constexpr int kInvalidUtf8Replaced = 2;  // a "changed" reason

  virtual std::vector<std::string> reasons() const = 0;

  // --- serial: one thread at a time, in order ---
  // The next event, or false at the end of the inputs. Record ids count every record,
  // kept or not, from 0, in input order.
  virtual bool next(ReadEvent& event) = 0;
  // Moves past records without reading them into memory until the next id is `record_id`
  // (or the end): a cheap seek.
  virtual void skip_until(uint64_t record_id) = 0;
  virtual void rewind() = 0;
  virtual uint64_t next_id() const = 0;
  virtual uint64_t bytes_consumed() const = 0;

  // --- parallel: thread-safe ---
  // Parses `raw` into `out` (parts, structure, renderer). On failure returns the error;
  // `repaired` tells whether invalid UTF-8 was replaced.
  virtual ParseError parse(RawRecord& raw, Record& out, bool& repaired) const = 0;

  void render_text(const Record& record, std::string& out) const override {
    out = record.parts.empty() ? std::string() : record.parts.front();
  }
  std::string render_fields(const Record&) const override { return {}; }
};

}  // namespace lmf::data
