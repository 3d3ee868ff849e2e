// Token shards of random ids in data prepare's format (train and validation splits), for
// the CLI tests that train or calibrate on a fixture model.
#pragma once

#include "core/data/manifest.h"
#include "core/data/shard_writer.h"

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace lmf::cli_test {

// `documents` documents of `length` ids below `vocab` per split, seeded.
inline void write_random_shards(const std::filesystem::path& folder, int64_t vocab,
                                uint64_t documents = 24, size_t length = 40, uint64_t seed = 5) {
  std::mt19937_64 random(seed);
  data::Manifest manifest;
  manifest.vocab_size = vocab;
  manifest.complete = true;
  for (const std::string split : {"train", "validation"}) {
    std::filesystem::create_directories(folder / split);
    data::ShardWriter writer(folder / split, "00000", vocab);
    for (uint64_t d = 0; d < documents; ++d) {
      std::vector<int32_t> ids(length);
      for (int32_t& id : ids) id = static_cast<int32_t>(random() % static_cast<uint64_t>(vocab));
      writer.append(ids, d);
    }
    manifest.splits[split].shards.push_back(writer.finish());
  }
  data::write_manifest(folder, manifest);
}

}  // namespace lmf::cli_test
