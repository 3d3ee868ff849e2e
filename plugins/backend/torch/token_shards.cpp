#include "token_shards.h"

#include "checkpoint/checkpoint_error.h"

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

[[noreturn]] void malformed(const fs::path& file, const std::string& what) {
  sdk::fail(LMF_ERR_DATA, file.string() + ": " + what);
}

uint64_t le64(const std::byte* at) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(at[i]);
  return value;
}

checkpoint::MappedFile map(const fs::path& path) {
  try {
    return checkpoint::MappedFile(path);
  } catch (const checkpoint::CheckpointError& e) {
    sdk::fail(LMF_ERR_IO, e.what());
  }
}

}  // namespace

TokenShards::TokenShards(const std::string& folder, const std::string& split) {
  const fs::path manifest_path = fs::path(folder) / "manifest.json";
  std::ifstream in(manifest_path);
  if (!in) sdk::fail(LMF_ERR_NOT_FOUND, manifest_path.string() + ": cannot open (not a shard folder of lmforge data prepare?)");
  json manifest;
  try {
    manifest = json::parse(in);
  } catch (const json::parse_error& e) {
    malformed(manifest_path, std::string("not valid JSON: ") + e.what());
  }
  if (manifest.value("format", "") != "lmforge-shards" || manifest.value("version", 0) != 1)
    malformed(manifest_path, "not an lmforge-shards manifest of version 1");
  token_bytes_ = manifest.value("token_bytes", 0);
  vocab_size_ = manifest.value("vocab_size", 0);
  if (token_bytes_ != 2 && token_bytes_ != 4) malformed(manifest_path, "token_bytes must be 2 or 4");
  const json* shards = nullptr;
  if (manifest.contains("splits") && manifest["splits"].contains(split))
    shards = &manifest["splits"][split]["shards"];
  if (shards == nullptr || !shards->is_array())
    sdk::fail(LMF_ERR_NOT_FOUND, manifest_path.string() + ": no \"" + split + "\" split");

  for (const json& entry : *shards) {
    const std::string name = entry.value("name", "");
    const fs::path base = fs::path(folder) / split / name;
    fs::path tokens_path = base, index_path = base;
    tokens_path += ".tokens";
    index_path += ".index";
    checkpoint::MappedFile index = map(index_path);
    const std::byte* bytes = index.bytes().data();
    if (index.size() < 48 || std::memcmp(bytes, "LMFIDX01", 8) != 0)
      malformed(index_path, "not a shard index (magic LMFIDX01)");
    const uint64_t n = le64(bytes + 16), token_count = le64(bytes + 24);
    if (index.size() != 48 + 16 * n + 8) malformed(index_path, "size does not match its document count");
    Shard shard{map(tokens_path)};
    if (shard.tokens.size() != token_count * token_bytes_)
      malformed(tokens_path, "size does not match the index's token count");
    const int32_t shard_index = static_cast<int32_t>(shards_.size());
    for (uint64_t d = 0; d < n; ++d) {
      const uint64_t begin = le64(bytes + 48 + 8 * d), end = le64(bytes + 48 + 8 * (d + 1));
      if (end < begin || end > token_count) malformed(index_path, "offsets out of order or range");
      documents_.push_back({shard_index, begin, end, total_tokens_});
      total_tokens_ += static_cast<int64_t>(end - begin);
    }
    shards_.push_back(std::move(shard));
  }
}

int64_t TokenShards::read_id(const Shard& shard, uint64_t at) const {
  const std::byte* p = shard.tokens.bytes().data() + at * token_bytes_;
  uint32_t value = 0;
  for (int64_t i = token_bytes_ - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

std::vector<int64_t> TokenShards::document(int64_t index) const {
  const Document& d = documents_.at(index);
  std::vector<int64_t> ids;
  ids.reserve(d.end - d.begin);
  for (uint64_t t = d.begin; t < d.end; ++t) ids.push_back(read_id(shards_[d.shard], t));
  return ids;
}

std::vector<int64_t> TokenShards::concatenated(int64_t limit) const {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < documents() && (limit == 0 || static_cast<int64_t>(ids.size()) < limit); ++i) {
    std::vector<int64_t> doc = document(i);
    ids.insert(ids.end(), doc.begin(), doc.end());
  }
  if (limit > 0 && static_cast<int64_t>(ids.size()) > limit) ids.resize(limit);
  return ids;
}

std::vector<int64_t> TokenShards::range(int64_t begin, int64_t count) const {
  if (begin < 0 || count < 0 || begin + count > total_tokens_)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "token range [" + std::to_string(begin) + ", " +
                                            std::to_string(begin + count) + ") is outside the " +
                                            std::to_string(total_tokens_) + " tokens of the split");
  if (count == 0) return {};
  // The last document that starts at or before `begin`.
  auto it = std::upper_bound(documents_.begin(), documents_.end(), begin,
                             [](int64_t at, const Document& d) { return at < d.offset; });
  std::vector<int64_t> ids;
  ids.reserve(count);
  for (auto d = it - 1; static_cast<int64_t>(ids.size()) < count; ++d) {
    const int64_t skip = std::max<int64_t>(0, begin - d->offset);
    const int64_t length = static_cast<int64_t>(d->end - d->begin);
    for (int64_t t = skip; t < length && static_cast<int64_t>(ids.size()) < count; ++t)
      ids.push_back(read_id(shards_[d->shard], d->begin + t));
  }
  return ids;
}

}  // namespace lmf::torch_backend
