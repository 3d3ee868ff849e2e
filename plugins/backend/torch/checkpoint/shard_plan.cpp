#include "checkpoint/shard_plan.h"

#include <cstdio>

namespace lmf::checkpoint {

std::vector<std::vector<size_t>> plan_shards(std::span<const uint64_t> tensor_bytes,
                                             uint64_t max_shard_bytes) {
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> filling;
  uint64_t filling_bytes = 0;
  for (size_t i = 0; i < tensor_bytes.size(); ++i) {
    const uint64_t bytes = tensor_bytes[i];
    if (bytes > max_shard_bytes) {
      shards.push_back({i});
      continue;
    }
    if (filling_bytes + bytes > max_shard_bytes) {
      shards.push_back(std::move(filling));
      filling.clear();
      filling_bytes = 0;
    }
    filling.push_back(i);
    filling_bytes += bytes;
  }
  if (!filling.empty()) shards.push_back(std::move(filling));
  return shards;
}

std::string shard_file_name(size_t shard, size_t shard_count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", shard + 1, shard_count);
  return name;
}

}  // namespace lmf::checkpoint
