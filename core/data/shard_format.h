// Note [Shard format]
// `lmforge data prepare` writes token shards that training memory-maps. An output folder:
//
//   manifest.json                 what was written, from what, and where to resume
//   train/00000.tokens            token ids of every document, back to back, little-endian,
//   train/00000.index             uint16 when the vocabulary fits, else uint32
//   validation/00000.tokens ...   the same for the validation split
//
// An .index file is a 48-byte header followed by two arrays:
//   offset  size  field
//        0     8  magic "LMFIDX01"
//        8     4  version (1)
//       12     4  bytes per token id (2 or 4)
//       16     8  documents (n)
//       24     8  tokens (total in the .tokens file)
//       32     8  vocabulary size
//       40     8  reserved (0)
//       48  8(n+1) document start offsets, in tokens; offsets[n] == tokens
//          8n     the source record id of each document (provenance, resume checks)
// A shard's files are written under temporary names and renamed when complete, and the
// manifest (written atomically) lists only complete shards, so an interrupted run leaves
// nothing that a reader could mistake for data. docs/data-format.md has the details.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace lmf::data {

inline constexpr char kIndexMagic[8] = {'L', 'M', 'F', 'I', 'D', 'X', '0', '1'};
inline constexpr uint32_t kIndexVersion = 1;
inline constexpr size_t kIndexHeaderBytes = 48;

struct IndexHeader {
  char magic[8];
  uint32_t version;
  uint32_t token_bytes;
  uint64_t documents;
  uint64_t tokens;
  uint64_t vocab_size;
  uint64_t reserved;
};
static_assert(sizeof(IndexHeader) == kIndexHeaderBytes);

// 2 bytes per id when every id fits in uint16, else 4.
inline uint32_t token_bytes_for(uint64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

inline std::string shard_name(uint64_t number) {
  std::string digits = std::to_string(number);
  return std::string(digits.size() < 5 ? 5 - digits.size() : 0, '0') + digits;
}

}  // namespace lmf::data
