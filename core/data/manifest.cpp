#include "core/data/manifest.h"

#include <fstream>
#include <stdexcept>

namespace lmf::data {
namespace fs = std::filesystem;

uint64_t SplitShards::documents() const {
  uint64_t total = 0;
  for (const ShardInfo& shard : shards) total += shard.documents;
  return total;
}

uint64_t SplitShards::tokens() const {
  uint64_t total = 0;
  for (const ShardInfo& shard : shards) total += shard.tokens;
  return total;
}

nlohmann::json Manifest::to_json() const {
  nlohmann::json split_json = nlohmann::json::object();
  for (const auto& [name, split] : splits) {
    nlohmann::json shards = nlohmann::json::array();
    for (const ShardInfo& shard : split.shards)
      shards.push_back({{"name", shard.name}, {"documents", shard.documents}, {"tokens", shard.tokens}});
    split_json[name] = {{"documents", split.documents()}, {"tokens", split.tokens()}, {"shards", shards}};
  }
  return {{"format", "lmforge-shards"},
          {"version", 1},
          {"token_bytes", token_bytes_for(vocab_size)},
          {"vocab_size", vocab_size},
          {"fingerprint", fingerprint},
          {"settings", settings},
          {"splits", split_json},
          {"next_record", next_record},
          {"complete", complete},
          {"report", report}};
}

Manifest Manifest::from_json(const nlohmann::json& json, const fs::path& file) {
  try {
    if (json.at("format") != "lmforge-shards" || json.at("version") != 1)
      throw std::runtime_error("not an lmforge-shards version 1 manifest");
    Manifest manifest;
    manifest.vocab_size = json.at("vocab_size").get<uint64_t>();
    manifest.fingerprint = json.at("fingerprint").get<std::string>();
    manifest.settings = json.at("settings");
    manifest.next_record = json.at("next_record").get<uint64_t>();
    manifest.complete = json.at("complete").get<bool>();
    manifest.report = json.value("report", nlohmann::json::object());
    for (const auto& [name, split] : json.at("splits").items())
      for (const nlohmann::json& shard : split.at("shards"))
        manifest.splits[name].shards.push_back({shard.at("name").get<std::string>(),
                                                shard.at("documents").get<uint64_t>(),
                                                shard.at("tokens").get<uint64_t>()});
    return manifest;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
}

std::optional<Manifest> read_manifest(const fs::path& folder) {
  const fs::path file = folder / "manifest.json";
  std::ifstream in(file);
  if (!in) return std::nullopt;
  nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded()) throw std::runtime_error(file.string() + ": not valid JSON");
  return Manifest::from_json(json, file);
}

void write_manifest(const fs::path& folder, const Manifest& manifest) {
  const fs::path file = folder / "manifest.json";
  const fs::path temporary = folder / "manifest.json.partial";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << manifest.to_json().dump(2) << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  fs::rename(temporary, file);
}

}  // namespace lmf::data
