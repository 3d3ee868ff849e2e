#include "checkpoint/checkpoint_folder.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/strict_json.h"

namespace lmf::checkpoint {

// Note [Checkpoint folders]
// A folder is read the way transformers reads it: model.safetensors when it exists (even
// beside an index), else the shards model.safetensors.index.json names. The index must
// describe the shards exactly: every file it names exists, every tensor it lists is in the
// shard it names, no tensor is in two shards, and no shard holds a tensor the index does
// not list. Its "metadata" is not checked (real indexes disagree with their shards'
// sizes), only exposed. Shard names are plain file names in the folder. Files the index
// does not name (a stale shard of an earlier save) are ignored. A folder with
// .safetensors files but neither model.safetensors nor the index is refused: which file
// holds what is unknown.

namespace fs = std::filesystem;

namespace {

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CheckpointError(path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw CheckpointError(path.string() + ": cannot read: " + std::strerror(errno));
  return text.str();
}

bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

std::vector<std::string> safetensors_files_in(const fs::path& folder) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".safetensors" && entry.is_regular_file()) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

[[noreturn]] void refuse_folder_without_weights(const fs::path& folder) {
  const std::vector<std::string> found = safetensors_files_in(folder);
  std::string message = folder.string() + ": no " + std::string(kSingleFileName) + " and no " +
                        std::string(kIndexFileName);
  if (found.empty()) throw CheckpointError(message + " (no .safetensors file at all)");
  std::string list;
  for (const std::string& name : found) list += (list.empty() ? "" : ", ") + name;
  if (found.size() == 1) throw CheckpointError(message + "; the only weights file is " + list);
  throw CheckpointError(message + ": the index is missing, so which of the " +
                        std::to_string(found.size()) + " files (" + list +
                        ") holds which tensor is unknown");
}

struct ShardIndex {
  std::map<std::string, std::string> weight_map;  // tensor -> shard file name
  std::optional<uint64_t> total_size;
};

ShardIndex parse_index(const fs::path& index_path) {
  const std::string source = index_path.string();
  const StrictJson json = parse_strict_json(read_text_file(index_path), source);
  if (!json.value.is_object()) throw CheckpointError(source + ": must be a JSON object");

  ShardIndex index;
  const auto weight_map = json.value.find("weight_map");
  if (weight_map == json.value.end()) throw CheckpointError(source + ": missing \"weight_map\"");
  if (!weight_map->is_object()) {
    throw CheckpointError(source + ": \"weight_map\" must be an object, got " +
                          weight_map->type_name());
  }
  for (const auto& [tensor, file] : weight_map->items()) {
    const std::string field = "\"weight_map\" > \"" + tensor + "\"";
    if (!file.is_string()) {
      throw CheckpointError(source + ": " + field + " must be a file name, got " +
                            file.type_name());
    }
    const auto& name = file.get_ref<const std::string&>();
    if (!is_plain_file_name(name)) {
      throw CheckpointError(source + ": " + field + " is \"" + name +
                            "\", not a file name in the model folder");
    }
    index.weight_map.emplace(tensor, name);
  }

  const auto metadata = json.value.find("metadata");
  if (metadata != json.value.end() && metadata->is_object()) {
    const auto total = metadata->find("total_size");
    if (total != metadata->end() && total->is_number_unsigned()) {
      index.total_size = total->get<uint64_t>();
    }
  }
  return index;
}

}  // namespace

CheckpointFolder::CheckpointFolder(const fs::path& path, MapAdvice advice) : path_(path) {
  std::error_code error;
  if (fs::is_regular_file(path, error)) {
    open_single(path, advice);
  } else if (!fs::is_directory(path, error)) {
    throw CheckpointError(path.string() + ": no such model folder or safetensors file");
  } else if (fs::exists(path / kSingleFileName, error)) {
    open_single(path / kSingleFileName, advice);
  } else if (fs::exists(path / kIndexFileName, error)) {
    open_sharded(advice);
  } else {
    refuse_folder_without_weights(path);
  }
}

void CheckpointFolder::open_single(const fs::path& file, MapAdvice advice) {
  files_.emplace_back(file, advice);
  add_tensors_of(0);
}

void CheckpointFolder::open_sharded(MapAdvice advice) {
  sharded_ = true;
  const fs::path index_path = path_ / kIndexFileName;
  const std::string index_name = index_path.string();
  const ShardIndex index = parse_index(index_path);
  index_total_size_ = index.total_size;

  std::map<std::string, std::string> first_tensor_of_file;  // file -> a tensor it should hold
  for (const auto& [tensor, file] : index.weight_map) first_tensor_of_file.emplace(file, tensor);
  files_.reserve(first_tensor_of_file.size());
  for (const auto& [file, tensor] : first_tensor_of_file) {
    std::error_code error;
    if (!fs::is_regular_file(path_ / file, error)) {
      throw CheckpointError(index_name + ": tensor \"" + tensor + "\" is in \"" + file +
                            "\", which is not in " + path_.string());
    }
    files_.emplace_back(path_ / file, advice);
    add_tensors_of(files_.size() - 1);
  }

  for (const auto& [tensor, file] : index.weight_map) {
    const auto found = index_.find(tensor);
    if (found == index_.end()) {
      throw CheckpointError(index_name + ": tensor \"" + tensor + "\" is not in its shard " + file);
    }
    const SafetensorsReader& holder = files_[found->second.second];
    if (holder.path().filename() != file) {
      throw CheckpointError(index_name + ": tensor \"" + tensor + "\" is listed in " + file +
                            " but is in " + holder.path().filename().string());
    }
  }
  for (const SafetensorsReader& file : files_) {
    for (const TensorEntry& tensor : file.tensors()) {
      if (!index.weight_map.contains(tensor.name)) {
        throw CheckpointError(file.path().string() + ": tensor \"" + tensor.name +
                              "\" is not listed in " + index_name);
      }
    }
  }
}

void CheckpointFolder::add_tensors_of(size_t file_position) {
  const SafetensorsReader& file = files_[file_position];
  for (const TensorEntry& tensor : file.tensors()) {
    const auto [where, added] = index_.try_emplace(tensor.name, &tensor, file_position);
    if (!added) {
      throw CheckpointError(path_.string() + ": tensor \"" + tensor.name + "\" appears twice: in " +
                            files_[where->second.second].path().filename().string() + " and in " +
                            file.path().filename().string());
    }
    tensors_.push_back(&tensor);
  }
}

const TensorEntry* CheckpointFolder::find(std::string_view name) const {
  const auto found = index_.find(name);
  return found == index_.end() ? nullptr : found->second.first;
}

const TensorEntry& CheckpointFolder::at(std::string_view name) const {
  const TensorEntry* entry = find(name);
  if (entry == nullptr) {
    throw CheckpointError(path_.string() + ": no tensor \"" + std::string(name) + "\"");
  }
  return *entry;
}

const SafetensorsReader& CheckpointFolder::file_of(std::string_view name) const {
  at(name);
  return files_[index_.find(name)->second.second];
}

}  // namespace lmf::checkpoint
