// manifest.json of a shard folder: the fields docs/data-format.md lists, read back, and
// refused with the file named when it is not one.
#include "core/data/manifest.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace lmf::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using lmf::testing::Contains;

using lmf::testing::TempDir;

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file) << text;
}

std::string read_error(const fs::path& folder) {
  try {
    read_manifest(folder);
    return "";
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

Manifest sample() {
  Manifest manifest;
  manifest.vocab_size = 70000;
  manifest.fingerprint = "123";
  manifest.settings = {{"split_seed", 3}};
  manifest.splits["train"].shards = {{"00000", 2, 10}, {"00001", 3, 7}};
  manifest.splits["validation"].shards = {{"00000", 1, 4}};
  manifest.next_record = 9;
  manifest.complete = false;
  manifest.report = {{"records_in", 9}};
  return manifest;
}

TEST(DataManifest, JsonHasTheDocumentedFields) {
  const json written = sample().to_json();
  EXPECT_EQ(written, json::parse(R"({
    "format": "lmforge-shards", "version": 1, "token_bytes": 4, "vocab_size": 70000,
    "fingerprint": "123", "settings": {"split_seed": 3},
    "splits": {
      "train": {"documents": 5, "tokens": 17, "shards": [
        {"name": "00000", "documents": 2, "tokens": 10},
        {"name": "00001", "documents": 3, "tokens": 7}]},
      "validation": {"documents": 1, "tokens": 4, "shards": [
        {"name": "00000", "documents": 1, "tokens": 4}]}},
    "next_record": 9, "complete": false, "report": {"records_in": 9}})"));
}

TEST(DataManifest, WrittenAtomicallyAndReadBack) {
  TempDir temp;
  EXPECT_FALSE(read_manifest(temp.path()).has_value());
  write_manifest(temp.path(), sample());
  EXPECT_FALSE(fs::exists(temp.path() / "manifest.json.partial"));
  const std::optional<Manifest> read = read_manifest(temp.path());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->to_json(), sample().to_json());
  EXPECT_EQ(read->splits.at("train").documents(), 5u);
  EXPECT_EQ(read->splits.at("train").tokens(), 17u);
}

TEST(DataManifest, NotJson) {
  TempDir temp;
  write_text(temp.path() / "manifest.json", "{\"format\": ");
  const std::string message = read_error(temp.path());
  EXPECT_TRUE(Contains(message, (temp.path() / "manifest.json").string()));
  EXPECT_TRUE(Contains(message, "not valid JSON"));
}

TEST(DataManifest, OtherFormat) {
  TempDir temp;
  json other = sample().to_json();
  other["version"] = 2;
  write_text(temp.path() / "manifest.json", other.dump());
  const std::string message = read_error(temp.path());
  EXPECT_TRUE(Contains(message, (temp.path() / "manifest.json").string()));
  EXPECT_TRUE(Contains(message, "version 1"));
}

TEST(DataManifest, MissingField) {
  TempDir temp;
  json other = sample().to_json();
  other.erase("next_record");
  write_text(temp.path() / "manifest.json", other.dump());
  const std::string message = read_error(temp.path());
  EXPECT_TRUE(Contains(message, (temp.path() / "manifest.json").string()));
  EXPECT_TRUE(Contains(message, "next_record"));
}

}  // namespace
}  // namespace lmf::data
