// plan_shards against huggingface_hub's own examples (tests/test_serialization.py and the
// docstring of split_state_dict_into_shards_factory), and the limit's edges.
#include "checkpoint/shard_plan.h"

#include <gtest/gtest.h>

namespace lmf::checkpoint {
namespace {

using Plan = std::vector<std::vector<size_t>>;

TEST(CheckpointShardPlan, HuggingFaceMultipleShardsExample) {
  // huggingface_hub test_multiple_shards: sizes 6, 10, 30, 2, 2 with a limit of 10 give
  // [layer_1], [layer_3], [layer_2], [layer_4, layer_5].
  const std::vector<uint64_t> sizes = {6, 10, 30, 2, 2};
  EXPECT_EQ(plan_shards(sizes, 10), (Plan{{0}, {2}, {1}, {3, 4}}));
}

TEST(CheckpointShardPlan, HuggingFaceSingleShardExample) {
  const std::vector<uint64_t> sizes = {6, 10, 30, 2, 2};
  EXPECT_EQ(plan_shards(sizes, 100), (Plan{{0, 1, 2, 3, 4}}));
}

TEST(CheckpointShardPlan, HuggingFaceDocstringExample) {
  // "[6GB, 6GB, 2GB, 6GB, 2GB, 2GB] ... sharded as [6GB], [6+2GB], [6+2+2GB]" with 10GB.
  const std::vector<uint64_t> sizes = {6, 6, 2, 6, 2, 2};
  EXPECT_EQ(plan_shards(sizes, 10), (Plan{{0}, {1, 2}, {3, 4, 5}}));
}

TEST(CheckpointShardPlan, AShardMayFillTheLimitExactly) {
  EXPECT_EQ(plan_shards(std::vector<uint64_t>{5, 5}, 10), (Plan{{0, 1}}));
  EXPECT_EQ(plan_shards(std::vector<uint64_t>{5, 6}, 10), (Plan{{0}, {1}}));
  EXPECT_EQ(plan_shards(std::vector<uint64_t>{10, 1}, 10), (Plan{{0}, {1}}));
}

TEST(CheckpointShardPlan, ATensorOverTheLimitIsAShardOfItsOwnAtOnce) {
  EXPECT_EQ(plan_shards(std::vector<uint64_t>{11}, 10), (Plan{{0}}));
  // Placed before the shard being filled, as huggingface_hub does.
  EXPECT_EQ(plan_shards(std::vector<uint64_t>{3, 11, 3}, 10), (Plan{{1}, {0, 2}}));
}

TEST(CheckpointShardPlan, EmptyTensorsJoinTheShardBeingFilled) {
  EXPECT_EQ(plan_shards(std::vector<uint64_t>{10, 0, 0}, 10), (Plan{{0, 1, 2}}));
  EXPECT_EQ(plan_shards(std::vector<uint64_t>{}, 10), Plan{});
}

TEST(CheckpointShardPlan, FileNamesAreHuggingFaces) {
  EXPECT_EQ(shard_file_name(0, 3), "model-00001-of-00003.safetensors");
  EXPECT_EQ(shard_file_name(2, 3), "model-00003-of-00003.safetensors");
  EXPECT_EQ(shard_file_name(0, 123456), "model-00001-of-123456.safetensors");
}

}  // namespace
}  // namespace lmf::checkpoint
