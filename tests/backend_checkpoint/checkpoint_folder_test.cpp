// CheckpointFolder on folders assembled by hand: one file, shards with their index, and
// every inconsistency between index and shards (Note [Checkpoint folders]).
#include "checkpoint/checkpoint_folder.h"

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_error.h"
#include "tests/backend_checkpoint/checkpoint_test_support.h"

namespace lmf::checkpoint {
namespace {

namespace fs = std::filesystem;
using namespace testing;  // checkpoint_test_support.h

// A safetensors file of U8 tensors of two bytes each, in the order given.
std::string u8_file(const std::vector<std::string>& names) {
  std::string header = "{", buffer;
  for (const std::string& name : names) {
    const size_t begin = buffer.size();
    header += (header.size() > 1 ? "," : "") + ("\"" + name + "\":{\"dtype\":\"U8\",") +
              "\"shape\":[2],\"data_offsets\":[" + std::to_string(begin) + "," +
              std::to_string(begin + 2) + "]}";
    buffer += name.substr(0, 1) + name.substr(name.size() - 1);  // "a1" for "a.1"
  }
  return safetensors_bytes(header + "}", buffer);
}

const char* const kShard1 = "model-00001-of-00002.safetensors";
const char* const kShard2 = "model-00002-of-00002.safetensors";

std::string index_json(const std::string& weight_map) {
  return R"({"metadata": {"total_size": 8}, "weight_map": {)" + weight_map + "}}";
}

// Two shards: a.1 and b.1 in the first, c.1 and d.1 in the second.
fs::path two_shards(const TempDir& dir, const std::string& weight_map) {
  write_file(dir.path() / kShard1, u8_file({"b.1", "a.1"}));
  write_file(dir.path() / kShard2, u8_file({"c.1", "d.1"}));
  write_file(dir.path() / "model.safetensors.index.json", index_json(weight_map));
  return dir.path();
}

const std::string kGoodMap =
    R"("a.1": "model-00001-of-00002.safetensors", "b.1": "model-00001-of-00002.safetensors",)"
    R"("c.1": "model-00002-of-00002.safetensors", "d.1": "model-00002-of-00002.safetensors")";

std::string refusal(const fs::path& path) {
  return refusal_of([&] { CheckpointFolder folder(path); });
}

std::vector<std::string> names_of(const CheckpointFolder& folder) {
  std::vector<std::string> names;
  for (const TensorEntry* entry : folder.tensors()) names.push_back(entry->name);
  return names;
}

TEST(CheckpointFolderRead, OneFileFolder) {
  TempDir dir;
  write_file(dir.path() / "model.safetensors", u8_file({"w.1", "v.2"}));
  write_file(dir.path() / "config.json", "{}");
  const CheckpointFolder folder(dir.path());
  EXPECT_FALSE(folder.sharded());
  ASSERT_EQ(folder.files().size(), 1u);
  EXPECT_EQ(folder.files()[0].path(), dir.path() / "model.safetensors");
  EXPECT_EQ(names_of(folder), (std::vector<std::string>{"w.1", "v.2"}));
  EXPECT_EQ(as_string(folder.at("v.2").bytes()), "v2");
  EXPECT_FALSE(folder.index_total_size());
}

TEST(CheckpointFolderRead, OneFileGivenByItsPath) {
  TempDir dir;
  const auto path = write_file(dir.path() / "adapter.safetensors", u8_file({"w.1"}));
  const CheckpointFolder folder(path);
  EXPECT_EQ(as_string(folder.at("w.1").bytes()), "w1");
  EXPECT_EQ(&folder.file_of("w.1"), &folder.files()[0]);
}

TEST(CheckpointFolderRead, ShardsNamedByTheIndex) {
  TempDir dir;
  const CheckpointFolder folder(two_shards(dir, kGoodMap));
  EXPECT_TRUE(folder.sharded());
  ASSERT_EQ(folder.files().size(), 2u);
  EXPECT_EQ(folder.files()[0].path(), dir.path() / kShard1);
  EXPECT_EQ(folder.files()[1].path(), dir.path() / kShard2);
  // File by file, each in its header's order.
  EXPECT_EQ(names_of(folder), (std::vector<std::string>{"b.1", "a.1", "c.1", "d.1"}));
  EXPECT_EQ(as_string(folder.at("d.1").bytes()), "d1");
  EXPECT_EQ(folder.file_of("c.1").path(), dir.path() / kShard2);
  EXPECT_EQ(folder.find("e.1"), nullptr);
  EXPECT_EQ(folder.index_total_size(), 8u);
}

TEST(CheckpointFolderRead, ModelSafetensorsWinsOverAnIndexAsInTransformers) {
  TempDir dir;
  two_shards(dir, kGoodMap);
  write_file(dir.path() / "model.safetensors", u8_file({"z.9"}));
  const CheckpointFolder folder(dir.path());
  EXPECT_FALSE(folder.sharded());
  EXPECT_EQ(names_of(folder), std::vector<std::string>{"z.9"});
}

TEST(CheckpointFolderRead, AMissingTensorNamesTheFolderAndTheTensor) {
  TempDir dir;
  const CheckpointFolder folder(two_shards(dir, kGoodMap));
  EXPECT_EQ(refusal_of([&] { folder.at("lm_head.weight"); }),
            dir.path().string() + ": no tensor \"lm_head.weight\"");
}

TEST(CheckpointFolderRead, RefusesAPathThatIsNothing) {
  TempDir dir;
  EXPECT_EQ(refusal(dir.path() / "nope"),
            (dir.path() / "nope").string() + ": no such model folder or safetensors file");
}

TEST(CheckpointFolderRead, RefusesAFolderWithoutWeights) {
  TempDir dir;
  write_file(dir.path() / "config.json", "{}");
  EXPECT_EQ(refusal(dir.path()), dir.path().string() +
                                     ": no model.safetensors and no model.safetensors.index.json "
                                     "(no .safetensors file at all)");
}

TEST(CheckpointFolderRead, RefusesShardsWithoutTheirIndex) {
  TempDir dir;
  write_file(dir.path() / kShard2, u8_file({"c.1"}));
  write_file(dir.path() / kShard1, u8_file({"a.1"}));
  const std::string message = refusal(dir.path());
  EXPECT_TRUE(Contains(message, dir.path().string() +
                                    ": no model.safetensors and no "
                                    "model.safetensors.index.json: the index is missing"));
  EXPECT_TRUE(
      Contains(message, "(model-00001-of-00002.safetensors, model-00002-of-00002.safetensors)"));
}

TEST(CheckpointFolderRead, RefusesALoneFileWithAnotherName) {
  TempDir dir;
  write_file(dir.path() / "weights.safetensors", u8_file({"a.1"}));
  EXPECT_TRUE(Contains(refusal(dir.path()), "the only weights file is weights.safetensors"));
}

TEST(CheckpointFolderRead, RefusesAnIndexNamingAMissingShard) {
  TempDir dir;
  write_file(dir.path() / kShard1, u8_file({"a.1"}));
  write_file(dir.path() / "model.safetensors.index.json",
             index_json(R"("a.1": "model-00001-of-00002.safetensors",)"
                        R"("b.1": "model-00002-of-00002.safetensors")"));
  EXPECT_EQ(refusal(dir.path()), (dir.path() / "model.safetensors.index.json").string() +
                                     ": tensor \"b.1\" is in \"model-00002-of-00002.safetensors\", "
                                     "which is not in " +
                                     dir.path().string());
}

TEST(CheckpointFolderRead, RefusesATensorAbsentFromItsShard) {
  TempDir dir;
  two_shards(dir, kGoodMap + R"(, "e.1": "model-00002-of-00002.safetensors")");
  EXPECT_TRUE(Contains(refusal(dir.path()),
                       "model.safetensors.index.json: tensor \"e.1\" is not in its shard "
                       "model-00002-of-00002.safetensors"));
}

TEST(CheckpointFolderRead, RefusesATensorInAnotherShardThanListed) {
  TempDir dir;
  two_shards(
      dir,
      R"("a.1": "model-00002-of-00002.safetensors", "b.1": "model-00001-of-00002.safetensors",)"
      R"("c.1": "model-00002-of-00002.safetensors", "d.1": "model-00002-of-00002.safetensors")");
  EXPECT_TRUE(
      Contains(refusal(dir.path()),
               "model.safetensors.index.json: tensor \"a.1\" is listed in "
               "model-00002-of-00002.safetensors but is in model-00001-of-00002.safetensors"));
}

TEST(CheckpointFolderRead, RefusesATensorInTwoShards) {
  TempDir dir;
  write_file(dir.path() / kShard1, u8_file({"a.1"}));
  write_file(dir.path() / kShard2, u8_file({"a.1"}));
  write_file(dir.path() / "model.safetensors.index.json",
             index_json(R"("a.1": "model-00001-of-00002.safetensors",)"
                        R"("x.1": "model-00002-of-00002.safetensors")"));
  EXPECT_EQ(refusal(dir.path()), dir.path().string() +
                                     ": tensor \"a.1\" appears twice: in "
                                     "model-00001-of-00002.safetensors and in "
                                     "model-00002-of-00002.safetensors");
}

TEST(CheckpointFolderRead, RefusesAShardTensorTheIndexDoesNotList) {
  TempDir dir;
  two_shards(
      dir,
      R"("a.1": "model-00001-of-00002.safetensors", "b.1": "model-00001-of-00002.safetensors",)"
      R"("c.1": "model-00002-of-00002.safetensors")");
  EXPECT_EQ(refusal(dir.path()), (dir.path() / kShard2).string() +
                                     ": tensor \"d.1\" is not listed in " +
                                     (dir.path() / "model.safetensors.index.json").string());
}

TEST(CheckpointFolderRead, NamesTheShardThatIsCorrupt) {
  TempDir dir;
  two_shards(dir, kGoodMap);
  const std::string shard = testing::read_file(dir.path() / kShard2);
  write_file(dir.path() / kShard2, shard.substr(0, shard.size() - 1));  // truncated
  const std::string message = refusal(dir.path());
  EXPECT_TRUE(Contains(message, (dir.path() / kShard2).string() + ": tensor \"d.1\": "));
  EXPECT_TRUE(Contains(message, "truncated file?"));
}

struct BadIndex {
  const char* label;
  std::string text;
  std::string expected;
};

void PrintTo(const BadIndex& index, std::ostream* out) {
  *out << index.label;
}

class CheckpointFolderBadIndex : public ::testing::TestWithParam<BadIndex> {};

TEST_P(CheckpointFolderBadIndex, NamesTheIndexAndTheField) {
  TempDir dir;
  write_file(dir.path() / kShard1, u8_file({"a.1"}));
  const auto index = write_file(dir.path() / "model.safetensors.index.json", GetParam().text);
  const std::string message = refusal(dir.path());
  EXPECT_TRUE(Contains(message, index.string() + ": " + GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Index, CheckpointFolderBadIndex,
    ::testing::Values(
        BadIndex{"not_json", "{\"weight_map\": ", "invalid JSON: "},
        BadIndex{"not_an_object", "[]", "must be a JSON object"},
        BadIndex{"no_weight_map", R"({"metadata": {}})", "missing \"weight_map\""},
        BadIndex{"weight_map_not_object", R"({"weight_map": []})",
                 "\"weight_map\" must be an object, got array"},
        BadIndex{"file_not_string", R"({"weight_map": {"a.1": 1}})",
                 "\"weight_map\" > \"a.1\" must be a file name, got number"},
        BadIndex{"file_outside_folder", R"({"weight_map": {"a.1": "../model.safetensors"}})",
                 "\"weight_map\" > \"a.1\" is \"../model.safetensors\", not a file name in the "
                 "model folder"},
        BadIndex{"duplicate_tensor",
                 R"({"weight_map": {"a.1": "model-00001-of-00002.safetensors",)"
                 R"( "a.1": "model-00001-of-00002.safetensors"}})",
                 "duplicate key \"a.1\" in \"weight_map\""}),
    [](const auto& test) { return std::string(test.param.label); });

}  // namespace
}  // namespace lmf::checkpoint
