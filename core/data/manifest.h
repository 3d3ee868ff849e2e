// manifest.json of a shard folder (Note [Shard format]): what was written, from what, and
// where an interrupted run resumes.
#pragma once

#include "core/data/shard_writer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lmf::data {

struct SplitShards {
  std::vector<ShardInfo> shards;
  uint64_t documents() const;
  uint64_t tokens() const;
};

struct Manifest {
  uint64_t vocab_size = 0;
  std::string fingerprint;  // of the settings that determine the output (resume guard)
  nlohmann::json settings;  // those settings, for people and tools
  std::map<std::string, SplitShards> splits;  // "train", "validation"
  uint64_t next_record = 0;  // the first source record not yet in a listed shard
  bool complete = false;
  nlohmann::json report = nlohmann::json::object();  // the source's report at the last checkpoint

  nlohmann::json to_json() const;
  static Manifest from_json(const nlohmann::json& json, const std::filesystem::path& file);
};

std::optional<Manifest> read_manifest(const std::filesystem::path& folder);
// Writes <folder>/manifest.json through a temporary file and a rename.
void write_manifest(const std::filesystem::path& folder, const Manifest& manifest);

}  // namespace lmf::data
