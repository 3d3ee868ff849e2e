// Which tensors go to which shard when a checkpoint is split, by Hugging Face's rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmf::checkpoint {

// Note [Shard plan]
// huggingface_hub's split_state_dict_into_shards_factory, which transformers'
// save_pretrained uses: tensors are taken in the order given; a tensor larger than the
// limit becomes a shard of its own at once (placed before the shard being filled); a
// tensor that would take the shard being filled over the limit closes it and starts the
// next one. No reordering to fill shards better: with a limit of 10 and sizes
// [6, 10, 30, 2, 2] the shards are [6], [30], [10], [2, 2].
//
// Returns the positions of the tensors in each shard. No tensors, no shards.
std::vector<std::vector<size_t>> plan_shards(std::span<const uint64_t> tensor_bytes,
                                             uint64_t max_shard_bytes);

// "model-00002-of-00003.safetensors" for shard 1 (from 0) of 3.
std::string shard_file_name(size_t shard, size_t shard_count);

}  // namespace lmf::checkpoint
