// Byte identity with the Python libraries: the files that safetensors.torch.save_file and
// transformers' save_pretrained wrote (tests/fixtures/checkpoint/, made by
// make_safetensors_fixture.py on the GPU machine) are rewritten here from the same tensors
// and must come out the same, byte for byte; and the reader must read them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "checkpoint/checkpoint_folder.h"
#include "checkpoint/checkpoint_folder_writer.h"
#include "checkpoint/safetensors_reader.h"
#include "checkpoint/safetensors_writer.h"
#include "tests/backend_checkpoint/checkpoint_test_support.h"

namespace lmf::checkpoint {
namespace {

namespace fs = std::filesystem;
using namespace testing;  // checkpoint_test_support.h

const fs::path kFixtures = fs::path(LMF_TEST_FIXTURES_DIR) / "checkpoint";

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

// The manifest's tensors, with their bytes kept alive beside the views.
struct ManifestTensors {
  std::vector<std::string> bytes;
  std::vector<TensorToWrite> list;

  explicit ManifestTensors(const nlohmann::json& tensors) {
    for (const auto& tensor : tensors) bytes.push_back(from_hex(tensor.at("hex")));
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto& tensor = tensors[i];
      const std::optional<DType> dtype = parse_dtype(tensor.at("dtype").get<std::string>());
      EXPECT_TRUE(dtype) << tensor.at("dtype");
      list.push_back({tensor.at("name"), dtype.value_or(DType::U8),
                      tensor.at("shape").get<std::vector<int64_t>>(), as_bytes(bytes[i])});
    }
  }
};

class CheckpointPythonFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kFixtures / "manifest.json")) {
      GTEST_SKIP() << "no " << (kFixtures / "manifest.json")
                   << ": run tests/fixtures/checkpoint/make_safetensors_fixture.py "
                      "tests/fixtures/checkpoint on a machine with torch and safetensors";
    }
    manifest_ = nlohmann::json::parse(read_file(kFixtures / "manifest.json"));
  }

  void expect_same_tensors(const TensorEntry& read, const TensorToWrite& expected) {
    EXPECT_EQ(read.dtype, expected.dtype) << expected.name;
    EXPECT_EQ(read.shape, expected.shape) << expected.name;
    EXPECT_EQ(as_string(read.bytes()), as_string(expected.data)) << expected.name;
  }

  nlohmann::json manifest_;
};

TEST_F(CheckpointPythonFixture, SaveFileOutputIsReproducedByteForByte) {
  const ManifestTensors tensors(manifest_.at("tensors"));
  TempDir dir;
  for (const auto& file : manifest_.at("files")) {
    const std::string name = file.at("file");
    const auto metadata = file.at("metadata").get<FileMetadata>();
    write_safetensors_file(dir.path() / name, tensors.list, metadata);
    EXPECT_TRUE(read_file(dir.path() / name) == read_file(kFixtures / name))
        << name << " differs from the Python library's file";
  }
}

TEST_F(CheckpointPythonFixture, SaveFileOutputIsRead) {
  const ManifestTensors tensors(manifest_.at("tensors"));
  for (const auto& file : manifest_.at("files")) {
    const SafetensorsReader reader(kFixtures / file.at("file").get<std::string>());
    EXPECT_EQ(reader.metadata(), file.at("metadata").get<FileMetadata>());
    ASSERT_EQ(reader.tensors().size(), tensors.list.size());
    for (const TensorToWrite& expected : tensors.list) {
      expect_same_tensors(reader.at(expected.name), expected);
    }
  }
}

TEST_F(CheckpointPythonFixture, SavePretrainedFolderIsReproduced) {
  const auto& folder = manifest_.at("folder");
  const ManifestTensors tensors(folder.at("tensors"));
  FolderWriteOptions options;
  options.max_shard_bytes = folder.at("max_shard_bytes");
  options.metadata = folder.at("metadata").get<FileMetadata>();
  TempDir dir;
  const FolderWriteResult result = write_checkpoint_folder(dir.path(), tensors.list, options);

  const fs::path reference = kFixtures / folder.at("path").get<std::string>();
  for (const std::string& file : result.files) {
    ASSERT_TRUE(fs::exists(reference / file)) << file << " is not in " << reference;
    EXPECT_TRUE(read_file(dir.path() / file) == read_file(reference / file))
        << file << " differs from " << folder.at("writer");
  }
  // What loading uses: the weight map and the total size (newer transformers may add
  // other metadata, e.g. "total_parameters").
  const auto ours = nlohmann::json::parse(read_file(dir.path() / kIndexFileName));
  const auto theirs = nlohmann::json::parse(read_file(reference / kIndexFileName));
  EXPECT_EQ(ours.at("weight_map"), theirs.at("weight_map"));
  EXPECT_EQ(ours.at("metadata").at("total_size"), theirs.at("metadata").at("total_size"));
}

TEST_F(CheckpointPythonFixture, SavePretrainedFolderIsRead) {
  const auto& folder = manifest_.at("folder");
  const ManifestTensors tensors(folder.at("tensors"));
  const CheckpointFolder checkpoint(kFixtures / folder.at("path").get<std::string>());
  EXPECT_TRUE(checkpoint.sharded());
  ASSERT_EQ(checkpoint.tensors().size(), tensors.list.size());
  for (const TensorToWrite& expected : tensors.list) {
    expect_same_tensors(checkpoint.at(expected.name), expected);
  }
}

}  // namespace
}  // namespace lmf::checkpoint
