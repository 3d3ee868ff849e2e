// The weights of a Hugging Face model folder: model.safetensors, or the shards that
// model.safetensors.index.json names, every file mapped (Note [Checkpoint folders]).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/mapped_file.h"
#include "checkpoint/safetensors_reader.h"

namespace lmf::checkpoint {

inline constexpr std::string_view kSingleFileName = "model.safetensors";
inline constexpr std::string_view kIndexFileName = "model.safetensors.index.json";

class CheckpointFolder {
 public:
  // `path` is a model folder, or one .safetensors file. Throws CheckpointError naming the
  // folder, the file and the tensor at fault.
  explicit CheckpointFolder(const std::filesystem::path& path,
                            MapAdvice advice = MapAdvice::kSequential);

  const std::filesystem::path& path() const { return path_; }
  bool sharded() const { return sharded_; }

  // The mapped files: one, or the shards in file-name order (the order of their numbers).
  const std::vector<SafetensorsReader>& files() const { return files_; }

  // Every tensor, file by file in files() order, each file's in its header's order.
  const std::vector<const TensorEntry*>& tensors() const { return tensors_; }

  // Null when the checkpoint has no tensor of that name.
  const TensorEntry* find(std::string_view name) const;
  // Throws CheckpointError naming the folder and the tensor when there is none.
  const TensorEntry& at(std::string_view name) const;
  // The file that holds a tensor of the checkpoint.
  const SafetensorsReader& file_of(std::string_view name) const;

  // The index's "metadata" > "total_size" when the folder is sharded and gives it.
  std::optional<uint64_t> index_total_size() const { return index_total_size_; }

 private:
  void open_single(const std::filesystem::path& file, MapAdvice advice);
  void open_sharded(MapAdvice advice);
  void add_tensors_of(size_t file_position);

  std::filesystem::path path_;
  bool sharded_ = false;
  std::vector<SafetensorsReader> files_;
  std::vector<const TensorEntry*> tensors_;
  // name -> (tensor, position of its file in files_)
  std::map<std::string, std::pair<const TensorEntry*, size_t>, std::less<>> index_;
  std::optional<uint64_t> index_total_size_;
};

}  // namespace lmf::checkpoint
