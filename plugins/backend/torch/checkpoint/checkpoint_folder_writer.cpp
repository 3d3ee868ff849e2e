#include "checkpoint/checkpoint_folder_writer.h"

#include <nlohmann/json.hpp>

#include <regex>
#include <set>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/checkpoint_folder.h"
#include "checkpoint/shard_plan.h"

namespace lmf::checkpoint {

// Note [Folder writes]
// All or nothing as far as a file system allows. Every file (shards, index) is first
// written completely under a temporary name and flushed (Note [Atomic writes]); any
// failure up to there (a bad tensor, disk full, an I/O error) removes the temporary
// files and leaves the folder exactly as it was. Then the files are renamed into place,
// in an order that keeps a reader from mixing old and new weights:
//   sharded:   the shards, then a stale model.safetensors is removed (transformers would
//              prefer it to the index), then the index;
//   one file:  model.safetensors (which takes precedence at once), then a stale index.
// Last, shards of an earlier save that the new index does not name are removed, as
// transformers does, and the folder is synced. Each rename is atomic, the sequence is
// not: a crash or a failing rename in the middle of it can leave some new files beside
// some old ones; the error then names the file that failed. Writing into the folder a
// checkpoint was loaded from is safe: mapped files keep their old contents.

namespace fs = std::filesystem;

namespace {

std::string index_json(const std::vector<std::vector<size_t>>& shards,
                       std::span<const TensorToWrite> tensors, uint64_t total_size) {
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t shard = 0; shard < shards.size(); ++shard) {
    const std::string file = shard_file_name(shard, shards.size());
    for (size_t position : shards[shard]) weight_map[tensors[position].name] = file;
  }
  const nlohmann::json index = {{"metadata", {{"total_size", total_size}}},
                                {"weight_map", weight_map}};
  // json.dumps(index, indent=2, sort_keys=True) + "\n", as transformers writes it: keys
  // sorted (nlohmann's objects are), non-ASCII escaped.
  return index.dump(2, ' ', true) + "\n";
}

void write_text(PendingFile& file, const std::string& text) {
  file.write(std::as_bytes(std::span(text)));
  file.finish();
}

void remove_file(const fs::path& path) {
  std::error_code error;
  fs::remove(path, error);
  if (error) {
    throw CheckpointError("cannot remove the stale " + path.string() + ": " + error.message());
  }
}

// model-00001-of-00002.safetensors and the like, not among the files just written.
void remove_stale_shards(const fs::path& folder, const std::vector<std::string>& written) {
  static const std::regex kShardName(R"(model-\d{5,}-of-\d{5,}\.safetensors)");
  const std::set<std::string> keep(written.begin(), written.end());
  std::vector<fs::path> stale;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, kShardName) && !keep.contains(name)) stale.push_back(entry.path());
  }
  for (const fs::path& path : stale) remove_file(path);
}

}  // namespace

FolderWriteResult write_checkpoint_folder(const fs::path& folder,
                                          std::span<const TensorToWrite> tensors,
                                          const FolderWriteOptions& options) {
  std::vector<uint64_t> sizes;
  for (const TensorToWrite& tensor : tensors) sizes.push_back(tensor.data.size());
  std::vector<std::vector<size_t>> shards = plan_shards(sizes, options.max_shard_bytes);
  if (shards.empty()) shards.emplace_back();  // no tensors: one empty model.safetensors

  // Names must be unique across shards too; layout_safetensors checks within one.
  std::set<std::string_view> names;
  for (const TensorToWrite& tensor : tensors) {
    if (!names.insert(tensor.name).second) {
      throw CheckpointError(folder.string() + ": tensor \"" + tensor.name + "\" is given twice");
    }
  }

  FolderWriteResult result;
  result.sharded = shards.size() > 1;
  // Every shard is laid out, so every tensor checked, before a byte is written.
  std::vector<std::vector<const TensorToWrite*>> members(shards.size());
  std::vector<SafetensorsLayout> layouts;
  for (size_t shard = 0; shard < shards.size(); ++shard) {
    result.files.push_back(result.sharded ? shard_file_name(shard, shards.size())
                                          : std::string(kSingleFileName));
    for (size_t position : shards[shard]) members[shard].push_back(&tensors[position]);
    layouts.push_back(layout_safetensors(members[shard], options.metadata,
                                         (folder / result.files.back()).string()));
  }
  for (uint64_t size : sizes) result.total_size += size;

  std::error_code error;
  fs::create_directories(folder, error);
  if (error) throw CheckpointError("cannot create " + folder.string() + ": " + error.message());
  std::vector<PendingFile> pending;
  for (size_t shard = 0; shard < shards.size(); ++shard) {
    pending.push_back(write_pending_safetensors(folder / result.files[shard], layouts[shard]));
  }

  if (result.sharded) {
    PendingFile index(folder / kIndexFileName);
    write_text(index, index_json(shards, tensors, result.total_size));
    for (PendingFile& shard : pending) shard.commit();
    if (fs::exists(folder / kSingleFileName, error)) remove_file(folder / kSingleFileName);
    index.commit();
  } else {
    pending.front().commit();
    if (fs::exists(folder / kIndexFileName, error)) remove_file(folder / kIndexFileName);
  }
  remove_stale_shards(folder, result.files);
  sync_folder(folder);
  return result;
}

}  // namespace lmf::checkpoint
