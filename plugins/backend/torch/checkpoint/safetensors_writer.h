// Writes safetensors files byte for byte as the reference Rust crate (and so
// `safetensors.torch.save_file`) writes them (Note [Tensor order]), atomically (Note
// [Atomic writes]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/dtype.h"
#include "checkpoint/pending_file.h"

namespace lmf::checkpoint {

// A tensor to write: its bytes, little-endian and C-contiguous, are borrowed, not copied.
struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;
};

// A file's "__metadata__". Hugging Face writes {"format": "pt"}.
using FileMetadata = std::map<std::string, std::string>;

// What goes before the data buffer, and the order of the tensors in it.
struct SafetensorsLayout {
  std::string prefix;                       // 8-byte header length + JSON header + padding
  std::vector<const TensorToWrite*> order;  // the tensors in buffer order
  uint64_t file_size = 0;
};

// Checks the tensors (unique names, shapes, data sizes, UTF-8) and lays them out. `file`
// names the destination in messages. Throws CheckpointError naming the file and tensor.
SafetensorsLayout layout_safetensors(std::span<const TensorToWrite* const> tensors,
                                     const FileMetadata& metadata, const std::string& file);

// Writes a laid-out file under a temporary name and flushes it to disk; the caller
// commits it. For writers of several files that must appear together
// (checkpoint_folder_writer.h).
PendingFile write_pending_safetensors(const std::filesystem::path& destination,
                                      const SafetensorsLayout& layout);

// Writes one safetensors file, replacing `path` only once the new file is complete on
// disk. Throws CheckpointError; on failure `path` is untouched and no temporary file stays.
void write_safetensors_file(const std::filesystem::path& path,
                            std::span<const TensorToWrite> tensors,
                            const FileMetadata& metadata = {});

}  // namespace lmf::checkpoint
