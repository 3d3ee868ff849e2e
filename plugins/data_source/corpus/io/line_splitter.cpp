#include "io/line_splitter.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace lmf::data {

namespace {

// RFC 4180 scanner states: a quote opens a quoted field only at the start of a field.
enum CsvState { kFieldStart = 0, kUnquoted, kQuoted, kQuoteInQuoted };

}  // namespace

LineSplitter::LineSplitter(const std::filesystem::path& file, std::size_t max_record_bytes,
                           Quoting quoting, char delimiter)
    : path_(file.string()),
      max_record_bytes_(max_record_bytes),
      quoting_(quoting),
      delimiter_(delimiter),
      buffer_(kChunkBytes) {
  file_ = std::fopen(path_.c_str(), "rb");
  if (file_ == nullptr)
    throw std::runtime_error("cannot open " + path_ + ": " + std::strerror(errno));
}

LineSplitter::~LineSplitter() {
  if (file_ != nullptr) std::fclose(file_);
}

bool LineSplitter::refill() {
  if (eof_) return false;
  pos_ = 0;
  end_ = std::fread(buffer_.data(), 1, buffer_.size(), file_);
  if (end_ < buffer_.size()) {
    if (std::ferror(file_)) throw std::runtime_error("cannot read " + path_ + ": read error");
    eof_ = true;
  }
  if (!started_) {
    started_ = true;
    if (end_ >= 3 && std::memcmp(buffer_.data(), "\xEF\xBB\xBF", 3) == 0) {
      pos_ = 3;
      consumed_ += 3;
    }
  }
  return end_ > pos_;
}

std::size_t LineSplitter::find_end() {
  if (quoting_ == Quoting::none) {
    const void* hit = std::memchr(buffer_.data() + pos_, '\n', end_ - pos_);
    return hit == nullptr
               ? std::string::npos
               : static_cast<std::size_t>(static_cast<const char*>(hit) - buffer_.data());
  }
  for (std::size_t i = pos_; i < end_; ++i) {
    const char c = buffer_[i];
    switch (csv_state_) {
      case kFieldStart:
      case kUnquoted:
        if (c == '\n') return i;
        if (c == delimiter_)
          csv_state_ = kFieldStart;
        else if (c == '"' && csv_state_ == kFieldStart)
          csv_state_ = kQuoted;
        else
          csv_state_ = kUnquoted;
        break;
      case kQuoted:
        if (c == '"') csv_state_ = kQuoteInQuoted;
        if (c == '\n') ++line_;
        break;
      case kQuoteInQuoted:
        if (c == '\n') return i;
        if (c == '"')
          csv_state_ = kQuoted;
        else if (c == delimiter_)
          csv_state_ = kFieldStart;
        else
          csv_state_ = kUnquoted;  // text after a closing quote: the parser reports it
        break;
    }
  }
  return std::string::npos;
}

bool LineSplitter::next(std::string* text, Line& line) {
  if (pos_ == end_ && !refill()) return false;
  if (text != nullptr) text->clear();
  line = Line{};
  line.first_line = line_;
  line.blank = true;
  csv_state_ = kFieldStart;
  bool ended = false;
  while (!ended) {
    if (pos_ == end_ && !refill()) break;  // the last record has no line break
    const std::size_t stop = find_end();
    const std::size_t piece_end = stop == std::string::npos ? end_ : stop;
    const std::size_t size = piece_end - pos_;
    const char* piece = buffer_.data() + pos_;
    if (line.blank) {
      for (std::size_t i = 0; i < size; ++i) {
        const char c = piece[i];
        if (c != ' ' && c != '\t' && c != '\r') {
          line.blank = false;
          break;
        }
      }
    }
    line.bytes += size;
    if (!line.oversized) {
      if (line.bytes > max_record_bytes_) {
        line.oversized = true;
        if (text != nullptr) std::string().swap(*text);  // give the memory back now
      } else if (text != nullptr) {
        text->append(piece, size);
      }
    }
    consumed_ += size;
    pos_ = piece_end;
    if (stop != std::string::npos) {
      ++pos_;
      ++consumed_;
      ++line_;
      ended = true;
    }
  }
  if (text != nullptr && !line.oversized && !text->empty() && text->back() == '\r')
    text->pop_back();
  return true;
}

}  // namespace lmf::data
