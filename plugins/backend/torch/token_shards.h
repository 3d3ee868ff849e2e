// Reads the packed token shards that `lmforge data prepare` writes (docs/data-format.md):
// the manifest's shards of one split, memory-mapped, as documents of token ids.
#pragma once

#include "checkpoint/mapped_file.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::torch_backend {

class TokenShards {
 public:
  // Opens `split` ("train" or "validation") of the shard folder `folder`; throws naming
  // the file for a missing or malformed manifest or shard.
  TokenShards(const std::string& folder, const std::string& split);

  int64_t vocab_size() const { return vocab_size_; }
  int64_t documents() const { return static_cast<int64_t>(documents_.size()); }
  int64_t tokens() const { return total_tokens_; }

  // The ids of document `index`, widened to int64.
  std::vector<int64_t> document(int64_t index) const;
  // Every document back to back (what a perplexity over the split reads), at most
  // `limit` tokens (0: all).
  std::vector<int64_t> concatenated(int64_t limit) const;
  // `count` ids of that concatenation from position `begin` (a training block may span
  // documents); throws when the range goes past the end.
  std::vector<int64_t> range(int64_t begin, int64_t count) const;

 private:
  struct Shard {
    checkpoint::MappedFile tokens;
  };
  struct Document {
    int32_t shard;
    uint64_t begin, end;  // in tokens
    int64_t offset;       // where it starts in the concatenation of all documents
  };

  int64_t read_id(const Shard& shard, uint64_t at) const;

  std::vector<Shard> shards_;
  std::vector<Document> documents_;
  int64_t token_bytes_ = 2;
  int64_t vocab_size_ = 0;
  int64_t total_tokens_ = 0;
};

}  // namespace lmf::torch_backend
