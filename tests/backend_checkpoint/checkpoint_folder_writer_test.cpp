// write_checkpoint_folder: one file or shards plus index as transformers writes them
// (Note [Shard plan]), read back by CheckpointFolder, and all or nothing (Note [Folder
// writes]).
#include "checkpoint/checkpoint_folder_writer.h"

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/checkpoint_folder.h"
#include "tests/backend_checkpoint/checkpoint_test_support.h"

namespace lmf::checkpoint {
namespace {

namespace fs = std::filesystem;
using namespace testing;  // checkpoint_test_support.h

// U8 tensors with the given names and sizes; the bytes of tensor i are 'a' + i.
struct Tensors {
  std::vector<std::string> data;
  std::vector<TensorToWrite> list;

  Tensors(const std::vector<std::pair<std::string, size_t>>& specs) {
    data.reserve(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) {
      data.push_back(std::string(specs[i].second, static_cast<char>('a' + i)));
    }
    for (size_t i = 0; i < specs.size(); ++i) {
      list.push_back(
          {specs[i].first, DType::U8, {static_cast<int64_t>(specs[i].second)}, as_bytes(data[i])});
    }
  }
};

std::vector<std::string> names_in(const fs::path& file) {
  std::vector<std::string> names;
  const SafetensorsReader reader(file);
  for (const TensorEntry& entry : reader.tensors()) names.push_back(entry.name);
  return names;
}

std::string refusal(const fs::path& folder, const std::vector<TensorToWrite>& tensors,
                    const FolderWriteOptions& options) {
  return refusal_of([&] { write_checkpoint_folder(folder, tensors, options); });
}

TEST(CheckpointFolderWrite, UnderTheLimitOneModelSafetensors) {
  TempDir dir;
  const Tensors tensors({{"x", 8}, {"y", 8}});
  const FolderWriteResult result = write_checkpoint_folder(dir.path(), tensors.list);
  EXPECT_FALSE(result.sharded);
  EXPECT_EQ(result.files, std::vector<std::string>{"model.safetensors"});
  EXPECT_EQ(result.total_size, 16u);
  EXPECT_EQ(folder_listing(dir.path()), std::vector<std::string>{"model.safetensors"});
  const SafetensorsReader reader(dir.path() / "model.safetensors");
  const std::map<std::string, std::string> pt = {{"format", "pt"}};
  EXPECT_EQ(reader.metadata(), pt);
  EXPECT_EQ(as_string(reader.at("y").bytes()), "bbbbbbbb");
}

TEST(CheckpointFolderWrite, OverTheLimitShardsAndAnIndexAsTransformersWrites) {
  TempDir dir;
  // 8 + 8 fill the first shard exactly; 16 starts the second; 4 does not fit beside it.
  const Tensors tensors({{"emb.\xc3\xa9", 8}, {"a", 8}, {"b", 16}, {"c", 4}});
  FolderWriteOptions options;
  options.max_shard_bytes = 16;
  const FolderWriteResult result = write_checkpoint_folder(dir.path(), tensors.list, options);

  EXPECT_TRUE(result.sharded);
  EXPECT_EQ(result.total_size, 36u);
  const std::vector<std::string> shards = {"model-00001-of-00003.safetensors",
                                           "model-00002-of-00003.safetensors",
                                           "model-00003-of-00003.safetensors"};
  EXPECT_EQ(result.files, shards);
  std::vector<std::string> listing = shards;
  listing.insert(listing.begin(), "model.safetensors.index.json");
  std::sort(listing.begin(), listing.end());
  EXPECT_EQ(folder_listing(dir.path()), listing);

  EXPECT_EQ(names_in(dir.path() / shards[0]), (std::vector<std::string>{"a", "emb.\xc3\xa9"}));
  EXPECT_EQ(names_in(dir.path() / shards[1]), std::vector<std::string>{"b"});
  EXPECT_EQ(names_in(dir.path() / shards[2]), std::vector<std::string>{"c"});

  // json.dumps(index, indent=2, sort_keys=True) + "\n": sorted keys, ASCII only.
  EXPECT_EQ(read_file(dir.path() / "model.safetensors.index.json"),
            "{\n"
            "  \"metadata\": {\n"
            "    \"total_size\": 36\n"
            "  },\n"
            "  \"weight_map\": {\n"
            "    \"a\": \"model-00001-of-00003.safetensors\",\n"
            "    \"b\": \"model-00002-of-00003.safetensors\",\n"
            "    \"c\": \"model-00003-of-00003.safetensors\",\n"
            "    \"emb.\\u00e9\": \"model-00001-of-00003.safetensors\"\n"
            "  }\n"
            "}\n");
}

TEST(CheckpointFolderWrite, FollowsHuggingFacesShardPlan) {
  TempDir dir;
  // huggingface_hub's test_multiple_shards, with bytes for sizes.
  const Tensors tensors(
      {{"layer_1", 6}, {"layer_2", 10}, {"layer_3", 30}, {"layer_4", 2}, {"layer_5", 2}});
  FolderWriteOptions options;
  options.max_shard_bytes = 10;
  write_checkpoint_folder(dir.path(), tensors.list, options);
  EXPECT_EQ(names_in(dir.path() / "model-00001-of-00004.safetensors"),
            std::vector<std::string>{"layer_1"});
  EXPECT_EQ(names_in(dir.path() / "model-00002-of-00004.safetensors"),
            std::vector<std::string>{"layer_3"});
  EXPECT_EQ(names_in(dir.path() / "model-00003-of-00004.safetensors"),
            std::vector<std::string>{"layer_2"});
  EXPECT_EQ(names_in(dir.path() / "model-00004-of-00004.safetensors"),
            (std::vector<std::string>{"layer_4", "layer_5"}));
}

TEST(CheckpointFolderWrite, ReadsBackThroughCheckpointFolder) {
  TempDir dir;
  const Tensors tensors({{"w0", 5}, {"w1", 5}, {"w2", 5}});
  FolderWriteOptions options;
  options.max_shard_bytes = 5;
  options.metadata = {{"format", "pt"}, {"producer", "lmforge"}};
  write_checkpoint_folder(dir.path() / "new" / "model", tensors.list, options);
  const CheckpointFolder folder(dir.path() / "new" / "model");
  EXPECT_TRUE(folder.sharded());
  EXPECT_EQ(folder.index_total_size(), 15u);
  for (size_t i = 0; i < 3; ++i) {
    const std::string name = "w" + std::to_string(i);
    EXPECT_EQ(as_string(folder.at(name).bytes()), tensors.data[i]);
    EXPECT_EQ(folder.file_of(name).path().filename(),
              "model-0000" + std::to_string(i + 1) + "-of-00003.safetensors");
    EXPECT_EQ(folder.file_of(name).metadata(), options.metadata);
  }
}

TEST(CheckpointFolderWrite, RemovesTheFilesOfAnEarlierSave) {
  TempDir dir;
  write_file(dir.path() / "config.json", "{}");
  const Tensors many({{"a", 4}, {"b", 4}, {"c", 4}, {"d", 4}});
  FolderWriteOptions small;
  small.max_shard_bytes = 4;
  write_checkpoint_folder(dir.path(), many.list, small);  // 4 shards
  const Tensors two({{"a", 4}, {"b", 4}});
  write_checkpoint_folder(dir.path(), two.list, small);  // 2 shards: shards 3 and 4 of 4 go
  EXPECT_EQ(folder_listing(dir.path()),
            (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                      "model-00002-of-00002.safetensors",
                                      "model.safetensors.index.json"}));

  write_checkpoint_folder(dir.path(), two.list);  // one file: shards and index go
  EXPECT_EQ(folder_listing(dir.path()),
            (std::vector<std::string>{"config.json", "model.safetensors"}));

  write_checkpoint_folder(dir.path(), two.list, small);  // sharded: model.safetensors goes
  EXPECT_EQ(folder_listing(dir.path()),
            (std::vector<std::string>{"config.json", "model-00001-of-00002.safetensors",
                                      "model-00002-of-00002.safetensors",
                                      "model.safetensors.index.json"}));
  EXPECT_TRUE(CheckpointFolder(dir.path()).sharded());
}

TEST(CheckpointFolderWrite, OverwritingTheLoadedFolderLeavesTheLoadedViewIntact) {
  TempDir dir;
  const Tensors old_weights({{"w", 4}, {"v", 4}});
  FolderWriteOptions small;
  small.max_shard_bytes = 4;
  write_checkpoint_folder(dir.path(), old_weights.list, small);
  const CheckpointFolder loaded(dir.path());

  const std::string fresh = "WWWW";
  write_checkpoint_folder(dir.path(),
                          std::vector<TensorToWrite>{{"w", DType::U8, {4}, as_bytes(fresh)}});
  EXPECT_EQ(as_string(loaded.at("w").bytes()), "aaaa");
  EXPECT_EQ(as_string(loaded.at("v").bytes()), "bbbb");
  EXPECT_EQ(as_string(CheckpointFolder(dir.path()).at("w").bytes()), "WWWW");
}

TEST(CheckpointFolderWrite, ABadTensorInTheLastShardWritesNothing) {
  TempDir dir;
  const std::string four = "1234", three = "123";
  const std::vector<TensorToWrite> tensors = {{"ok", DType::U8, {4}, as_bytes(four)},
                                              {"bad", DType::F32, {1}, as_bytes(three)}};
  FolderWriteOptions small;
  small.max_shard_bytes = 4;
  const fs::path folder = dir.path() / "out";
  const std::string message = refusal(folder, tensors, small);
  EXPECT_EQ(message, (folder / "model-00002-of-00002.safetensors").string() +
                         ": tensor \"bad\": 3 bytes of data, but F32 [1] needs 4");
  EXPECT_FALSE(fs::exists(folder));
}

TEST(CheckpointFolderWrite, RefusesANameGivenTwiceAcrossShards) {
  TempDir dir;
  const Tensors tensors({{"w", 4}, {"w", 4}});
  FolderWriteOptions small;
  small.max_shard_bytes = 4;
  EXPECT_EQ(refusal(dir.path(), tensors.list, small),
            dir.path().string() + ": tensor \"w\" is given twice");
  EXPECT_TRUE(folder_listing(dir.path()).empty());
}

TEST(CheckpointFolderWrite, ADiskFullInTheLastShardLeavesTheFolderAsItWas) {
  TempDir dir;
  write_file(dir.path() / "config.json", "{\"model_type\": \"llama\"}");
  const Tensors old_weights({{"w", 16}, {"v", 16}});
  FolderWriteOptions options;
  options.max_shard_bytes = 16;
  write_checkpoint_folder(dir.path(), old_weights.list, options);
  const std::vector<std::string> listing = folder_listing(dir.path());
  std::map<std::string, std::string> contents;
  for (const std::string& name : listing) contents[name] = read_file(dir.path() / name);

  // Shards [w], [u], [v] (u is over the limit, so it comes before the shard being filled):
  // the first is written, the second is larger than any file may grow.
  const Tensors new_weights({{"w", 16}, {"v", 16}, {"u", 64 * 1024}});
  std::string message;
  {
    FileSizeLimit limit(4096);
    message = refusal(dir.path(), new_weights.list, options);
  }
  EXPECT_TRUE(Contains(
      message, "cannot write " + (dir.path() / "model-00002-of-00003.safetensors").string()));
  EXPECT_TRUE(Contains(message, "File too large"));
  EXPECT_EQ(folder_listing(dir.path()), listing);  // no new file, no temporary file
  for (const auto& [name, content] : contents) {
    EXPECT_EQ(read_file(dir.path() / name), content) << name;
  }
}

}  // namespace
}  // namespace lmf::checkpoint
