// Writes one shard (Note [Shard format]): documents appended as they come, files renamed
// into place by finish().
#pragma once

#include "core/data/shard_format.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

namespace lmf::data {

struct ShardInfo {
  std::string name;  // "00000"
  uint64_t documents = 0;
  uint64_t tokens = 0;
};

class ShardWriter {
 public:
  // Opens <folder>/<name>.tokens.partial; throws std::runtime_error naming the file.
  ShardWriter(const std::filesystem::path& folder, std::string name, uint64_t vocab_size);
  ~ShardWriter();  // an unfinished shard's partial file is removed
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;

  // Appends one document; ids must be < vocab_size (throws std::invalid_argument naming the
  // record otherwise).
  void append(std::span<const int32_t> ids, uint64_t record_id);
  uint64_t tokens() const { return tokens_; }
  uint64_t documents() const { return record_ids_.size(); }

  // Flushes, writes the index, renames both files into place.
  ShardInfo finish();

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const noexcept;
  };
  void write(const void* data, size_t bytes, const std::filesystem::path& file);

  std::filesystem::path folder_;
  std::string name_;
  uint64_t vocab_size_;
  uint32_t token_bytes_;
  std::filesystem::path partial_tokens_;
  std::unique_ptr<std::FILE, FileCloser> tokens_file_;
  std::vector<uint64_t> offsets_{0};
  std::vector<uint64_t> record_ids_;
  std::vector<unsigned char> buffer_;
  uint64_t tokens_ = 0;
  bool finished_ = false;
};

}  // namespace lmf::data
