#include "readers/file_reader.h"

#include "text/utf8.h"

#include <stdexcept>

namespace lmf::data {

std::string origin_of(const InputFile& file, uint64_t line) {
  return file.name + ":" + std::to_string(line);
}

FileReader::FileReader(std::vector<InputFile> files, const SourceConfig& config)
    : config_(config), files_(std::move(files)) {}

uint64_t FileReader::bytes_consumed() const {
  return done_bytes_ + (open_ ? file_bytes_consumed() : 0);
}

void FileReader::rewind() {
  if (open_) end_file();
  open_ = false;
  file_index_ = 0;
  records_in_file_ = 0;
  next_id_ = 0;
  done_bytes_ = 0;
}

// One step: a record (true, `raw` filled when given), or a problem or the end of a file
// (true with `event` filled as a problem, when `event` is given), or the end (false).
bool FileReader::advance(RawRecord* raw, ReadEvent* event) {
  for (;;) {
    if (!open_) {
      if (file_index_ >= files_.size()) return false;
      const InputFile& file = files_[file_index_];
      records_in_file_ = 0;
      try {
        begin_file(file);
        open_ = true;
      } catch (const std::exception& e) {
        ++file_index_;
        if (event == nullptr) continue;
        event->is_record = false;
        event->problem = Report::FileProblem::unreadable;
        event->origin = file.name;
        event->message = e.what();
        return true;
      }
    }
    const InputFile& file = files_[file_index_];
    FileIssue issue;
    bool got = false;
    try {
      got = next_in_file(raw, issue);
    } catch (const std::exception& e) {
      issue = {e.what(), Report::FileProblem::unreadable};
    }
    if (got) {
      if (raw != nullptr) raw->id = next_id_;
      ++next_id_;
      ++records_in_file_;
      return true;
    }
    // The end of the file, early when there was a problem.
    done_bytes_ += file_bytes_consumed();
    end_file();
    open_ = false;
    ++file_index_;
    if (event == nullptr) continue;
    if (!issue.message.empty()) {
      event->is_record = false;
      event->problem = issue.kind;
      event->origin = file.name;
      event->message = issue.message;
      return true;
    }
    if (records_in_file_ == 0) {
      event->is_record = false;
      event->problem = Report::FileProblem::empty;
      event->origin = file.name;
      event->message = file.name + ": empty file (no records)";
      return true;
    }
  }
}

bool FileReader::next(ReadEvent& event) {
  event.is_record = true;
  event.raw = RawRecord{};
  return advance(&event.raw, &event);
}

void FileReader::skip_until(uint64_t record_id) {
  while (next_id_ < record_id)
    if (!advance(nullptr, nullptr)) return;
}

ParseError FileReader::check_raw(RawRecord& raw, bool& repaired) const {
  repaired = false;
  if (raw.oversized)
    return {kOversized, raw.origin + ": the record is " + std::to_string(raw.size) +
                            " bytes, more than max_record_bytes (" +
                            std::to_string(config_.max_record_bytes) + "); it was not read"};
  const std::size_t bad = utf8::first_invalid(raw.bytes);
  if (bad == std::string::npos) return {};
  if (config_.invalid_utf8 == InvalidUtf8::reject)
    return {kInvalidUtf8, raw.origin + ": invalid UTF-8 at byte " + std::to_string(bad) +
                              " of the record (invalid_utf8 is \"reject\")"};
  utf8::repair(raw.bytes);
  repaired = true;
  return {};
}

}  // namespace lmf::data
