// Reads a shard (Note [Shard format]) through memory maps: nothing is copied until asked.
#pragma once

#include "core/data/shard_format.h"

#include <filesystem>
#include <vector>

namespace lmf::data {

class ShardReader {
 public:
  // Maps <folder>/<name>.tokens and .index; throws std::runtime_error naming the file and
  // what is wrong (missing, bad magic, sizes that do not add up).
  ShardReader(const std::filesystem::path& folder, const std::string& name);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  uint64_t documents() const { return header_.documents; }
  uint64_t tokens() const { return header_.tokens; }
  uint64_t vocab_size() const { return header_.vocab_size; }
  uint32_t token_bytes() const { return header_.token_bytes; }

  // Token ids of document `i` (copied out, widened to int32).
  std::vector<int32_t> document(uint64_t i) const;
  uint64_t record_id(uint64_t i) const;
  // Token `t` of the whole shard, for samplers that cut fixed-length windows.
  int32_t token(uint64_t t) const;

 private:
  struct Mapping {
    void* data = nullptr;
    size_t size = 0;
  };
  static Mapping map_file(const std::filesystem::path& file);
  void unmap_all() noexcept;

  Mapping tokens_map_, index_map_;
  IndexHeader header_{};
  const uint64_t* offsets_ = nullptr;
  const uint64_t* record_ids_ = nullptr;
  const unsigned char* token_data_ = nullptr;
};

}  // namespace lmf::data
