#include "readers/text_reader.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace lmf::data {

using Unit = TextOptions::Unit;

TextReader::TextReader(std::vector<InputFile> files, const SourceConfig& config)
    : FileReader(std::move(files), config) {}

std::vector<std::string> TextReader::reasons() const {
  return {"oversized", "invalid_utf8", "invalid_utf8_replaced"};
}

void TextReader::begin_file(const InputFile& file) {
  file_ = &file;
  whole_file_done_ = false;
  whole_file_bytes_ = 0;
  if (config_.text.unit != Unit::file)
    splitter_ = std::make_unique<LineSplitter>(file.path, config_.max_record_bytes);
}

void TextReader::end_file() {
  splitter_.reset();
  line_.clear();
}

uint64_t TextReader::file_bytes_consumed() const {
  return splitter_ ? splitter_->bytes_consumed() : whole_file_bytes_;
}

bool TextReader::next_in_file(RawRecord* raw, FileIssue&) {
  switch (config_.text.unit) {
    case Unit::file:
      return next_file_record(raw);
    case Unit::paragraph:
      return next_paragraph(raw);
    case Unit::line: {
      LineSplitter::Line line;
      while (splitter_->next(raw == nullptr ? nullptr : &raw->bytes, line)) {
        if (line.blank) continue;
        if (raw != nullptr) {
          raw->origin = origin_of(*file_, line.first_line);
          raw->size = line.bytes;
          raw->oversized = line.oversized;
        }
        return true;
      }
      return false;
    }
  }
  return false;
}

// The whole file is one record; one larger than max_record_bytes is never read, and a
// skip reads no further than the first character that is not white space.
bool TextReader::next_file_record(RawRecord* raw) {
  if (whole_file_done_) return false;
  whole_file_done_ = true;
  struct Closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(file_->path.c_str(), "rb"));
  if (!file) throw std::runtime_error("cannot open " + file_->name + ": " + std::strerror(errno));
  std::fseek(file.get(), 0, SEEK_END);
  const long end = std::ftell(file.get());
  const uint64_t size = end < 0 ? 0 : static_cast<uint64_t>(end);
  std::fseek(file.get(), 0, SEEK_SET);
  whole_file_bytes_ = size;
  constexpr const char* kSpaces = " \t\r\n\f\v";
  const bool oversized = size > config_.max_record_bytes;
  std::string bytes;
  bool has_text = oversized;
  if (!oversized && raw != nullptr) {
    bytes.resize(size);
    bytes.resize(size == 0 ? 0 : std::fread(bytes.data(), 1, size, file.get()));
    if (bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) bytes.erase(0, 3);
    has_text = bytes.find_first_not_of(kSpaces) != std::string::npos;
  } else if (!oversized) {
    std::string chunk(std::size_t{64} << 10, '\0');
    bool first = true;
    while (!has_text) {
      const std::size_t got = std::fread(chunk.data(), 1, chunk.size(), file.get());
      if (got == 0) break;
      std::string_view view(chunk.data(), got);
      if (first && view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);
      first = false;
      has_text = view.find_first_not_of(kSpaces) != std::string_view::npos;
    }
  }
  if (!has_text) return false;  // an empty file: no record
  if (raw != nullptr) {
    raw->origin = origin_of(*file_, 1);
    raw->size = size;
    raw->oversized = oversized;
    raw->bytes = std::move(bytes);
  }
  return true;
}

// Non-blank lines up to a blank line or the end of the file, joined with "\n".
bool TextReader::next_paragraph(RawRecord* raw) {
  std::string* target = raw == nullptr ? nullptr : &line_;
  // Find the first non-blank line.
  do {
    if (!splitter_->next(target, line_info_)) return false;
  } while (line_info_.blank);
  RawRecord scratch;
  RawRecord& out = raw == nullptr ? scratch : *raw;
  out.origin = origin_of(*file_, line_info_.first_line);
  out.size = line_info_.bytes;
  out.oversized = line_info_.oversized;
  if (raw != nullptr && !out.oversized) out.bytes = line_;
  for (;;) {
    if (!splitter_->next(target, line_info_)) break;
    if (line_info_.blank) break;
    out.size += 1 + line_info_.bytes;
    if (!out.oversized && (line_info_.oversized || out.size > config_.max_record_bytes)) {
      out.oversized = true;
      std::string().swap(out.bytes);
    }
    if (raw != nullptr && !out.oversized) {
      out.bytes += '\n';
      out.bytes += line_;
    }
  }
  return true;
}

ParseError TextReader::parse(RawRecord& raw, Record& out, bool& repaired) const {
  if (ParseError error = check_raw(raw, repaired)) return error;
  out.parts.push_back(std::move(raw.bytes));
  return {};
}

}  // namespace lmf::data
