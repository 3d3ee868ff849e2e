// Writes the weights of a Hugging Face model folder as transformers' save_pretrained does:
// model.safetensors, or shards model-0000i-of-0000n.safetensors with
// model.safetensors.index.json (Note [Shard plan], Note [Folder writes]).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/safetensors_writer.h"

namespace lmf::checkpoint {

struct FolderWriteOptions {
  // A shard holds at most this many bytes of tensor data, unless one tensor alone is larger.
  // huggingface_hub's default.
  uint64_t max_shard_bytes = 5'000'000'000;
  // Each file's "__metadata__", as transformers writes it.
  FileMetadata metadata = {{"format", "pt"}};
};

struct FolderWriteResult {
  std::vector<std::string> files;  // the weight files written, in shard order
  bool sharded = false;            // true when an index was written too
  uint64_t total_size = 0;         // bytes of tensor data, the index's "total_size"
};

// Writes the tensors into `folder` (created when missing), in the order given for the
// shard plan. Throws CheckpointError naming the file and the tensor; see Note [Folder
// writes] for what the folder holds after a failure.
FolderWriteResult write_checkpoint_folder(const std::filesystem::path& folder,
                                          std::span<const TensorToWrite> tensors,
                                          const FolderWriteOptions& options = {});

}  // namespace lmf::checkpoint
