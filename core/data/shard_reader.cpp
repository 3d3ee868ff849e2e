#include "core/data/shard_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace lmf::data {
namespace fs = std::filesystem;

ShardReader::Mapping ShardReader::map_file(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot stat " + file.string() + ": " + std::strerror(errno));
  }
  Mapping mapping;
  mapping.size = static_cast<size_t>(info.st_size);
  if (mapping.size > 0) {
    mapping.data = ::mmap(nullptr, mapping.size, PROT_READ, MAP_SHARED, fd, 0);
    if (mapping.data == MAP_FAILED) {
      ::close(fd);
      throw std::runtime_error("cannot map " + file.string() + ": " + std::strerror(errno));
    }
  }
  ::close(fd);
  return mapping;
}

ShardReader::ShardReader(const fs::path& folder, const std::string& name) {
  const fs::path index_file = folder / (name + ".index");
  const fs::path tokens_file = folder / (name + ".tokens");
  index_map_ = map_file(index_file);
  try {
    tokens_map_ = map_file(tokens_file);
    auto bad = [&](const std::string& what) {
      throw std::runtime_error(index_file.string() + ": " + what);
    };
    if (index_map_.size < kIndexHeaderBytes) bad("too short for an index header");
    std::memcpy(&header_, index_map_.data, sizeof header_);
    if (std::memcmp(header_.magic, kIndexMagic, sizeof kIndexMagic) != 0) bad("not an lmforge shard index");
    if (header_.version != kIndexVersion)
      bad("index version " + std::to_string(header_.version) + ", this build reads " +
          std::to_string(kIndexVersion));
    if (header_.token_bytes != 2 && header_.token_bytes != 4)
      bad("unsupported token width " + std::to_string(header_.token_bytes));
    // Sizes compared by division: a damaged count must not wrap around to a plausible size
    // and send reads past the end of a map.
    const uint64_t n = header_.documents;
    const uint64_t body = index_map_.size - kIndexHeaderBytes;  // 8 (n + 1) + 8 n
    if (body < 8 || (body - 8) % 16 != 0 || (body - 8) / 16 != n)
      bad("size does not match its " + std::to_string(n) + " documents");
    if (tokens_map_.size % header_.token_bytes != 0 ||
        tokens_map_.size / header_.token_bytes != header_.tokens)
      throw std::runtime_error(tokens_file.string() + ": holds " + std::to_string(tokens_map_.size) +
                               " bytes, its index says " + std::to_string(header_.tokens) + " tokens");
    const auto* base = static_cast<const unsigned char*>(index_map_.data);
    offsets_ = reinterpret_cast<const uint64_t*>(base + kIndexHeaderBytes);
    record_ids_ = offsets_ + n + 1;
    if (offsets_[0] != 0) bad("first document offset is not 0");
    for (uint64_t i = 0; i < n; ++i)
      if (offsets_[i + 1] < offsets_[i])
        bad("document offsets decrease at document " + std::to_string(i));
    if (offsets_[n] != header_.tokens) bad("last document offset differs from the token count");
    token_data_ = static_cast<const unsigned char*>(tokens_map_.data);
  } catch (...) {
    unmap_all();  // the destructor does not run for an object that failed to construct
    throw;
  }
}

ShardReader::~ShardReader() { unmap_all(); }

void ShardReader::unmap_all() noexcept {
  for (Mapping* mapping : {&tokens_map_, &index_map_})
    if (mapping->data != nullptr) {
      ::munmap(mapping->data, mapping->size);
      mapping->data = nullptr;
    }
}

int32_t ShardReader::token(uint64_t t) const {
  if (t >= header_.tokens) throw std::out_of_range("token " + std::to_string(t) + " is past the shard");
  const unsigned char* at = token_data_ + t * header_.token_bytes;
  uint32_t value = 0;
  for (uint32_t b = 0; b < header_.token_bytes; ++b) value |= static_cast<uint32_t>(at[b]) << (8 * b);
  return static_cast<int32_t>(value);
}

std::vector<int32_t> ShardReader::document(uint64_t i) const {
  if (i >= header_.documents)
    throw std::out_of_range("document " + std::to_string(i) + " is past the shard");
  std::vector<int32_t> ids;
  ids.reserve(offsets_[i + 1] - offsets_[i]);
  for (uint64_t t = offsets_[i]; t < offsets_[i + 1]; ++t) ids.push_back(token(t));
  return ids;
}

uint64_t ShardReader::record_id(uint64_t i) const {
  if (i >= header_.documents)
    throw std::out_of_range("document " + std::to_string(i) + " is past the shard");
  return record_ids_[i];
}

}  // namespace lmf::data
