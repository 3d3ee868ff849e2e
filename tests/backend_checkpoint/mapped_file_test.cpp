// MappedFile: the file's bytes, stable across moves; refusals name the path and the reason.
#include "checkpoint/mapped_file.h"

#include <gtest/gtest.h>

#include <utility>

#include "tests/backend_checkpoint/checkpoint_test_support.h"

namespace lmf::checkpoint {
namespace {

using namespace testing;  // checkpoint_test_support.h

TEST(CheckpointMappedFile, MapsTheWholeFile) {
  TempDir dir;
  const std::string content = std::string("weights\0and more", 16);
  const auto path = write_file(dir.path() / "a.bin", content);
  const MappedFile file(path, MapAdvice::kWillNeed);
  EXPECT_EQ(file.size(), content.size());
  EXPECT_EQ(as_string(file.bytes()), content);
  EXPECT_EQ(file.path(), path);
}

TEST(CheckpointMappedFile, MovesKeepTheMappingAtTheSameAddress) {
  TempDir dir;
  const auto path = write_file(dir.path() / "a.bin", "0123456789");
  MappedFile first(path);
  const std::byte* address = first.bytes().data();
  MappedFile second(std::move(first));
  EXPECT_EQ(second.bytes().data(), address);
  EXPECT_EQ(first.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
  MappedFile third(write_file(dir.path() / "b.bin", "x"));
  third = std::move(second);
  EXPECT_EQ(third.bytes().data(), address);
  EXPECT_EQ(as_string(third.bytes()), "0123456789");
}

TEST(CheckpointMappedFile, AnEmptyFileHasNoBytes) {
  TempDir dir;
  const MappedFile file(write_file(dir.path() / "empty.bin", ""));
  EXPECT_EQ(file.size(), 0u);
  EXPECT_TRUE(file.bytes().empty());
}

TEST(CheckpointMappedFile, AMissingFileIsNamedWithTheSystemsReason) {
  TempDir dir;
  const auto path = dir.path() / "missing.safetensors";
  const std::string message = refusal_of([&] { MappedFile file(path); });
  EXPECT_EQ(message, path.string() + ": cannot open: No such file or directory");
}

TEST(CheckpointMappedFile, AFolderIsNotAFile) {
  TempDir dir;
  EXPECT_EQ(refusal_of([&] { MappedFile file(dir.path()); }),
            dir.path().string() + ": not a regular file");
}

}  // namespace
}  // namespace lmf::checkpoint
