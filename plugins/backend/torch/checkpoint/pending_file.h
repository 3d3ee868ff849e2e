// A file being written under a temporary name beside its destination, renamed into place
// only when complete (Note [Atomic writes]).
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace lmf::checkpoint {

// Note [Atomic writes]
// A file is written under a temporary name in its destination's folder
// (".<name>.tmp-<pid>-<n>", so that globs for *.safetensors never see it), flushed to disk
// with fsync, closed, and only then renamed over the destination; the folder is fsynced
// so that the rename itself survives a crash. Until the rename the destination is
// untouched, and on any failure (disk full, I/O error, an exception in between) the
// temporary file is removed. A reader therefore sees the old file or the complete new one,
// never a partial one; one that has the old file mapped keeps its contents.
class PendingFile {
 public:
  // Creates the temporary file. Throws CheckpointError naming the destination.
  explicit PendingFile(std::filesystem::path destination);
  // Removes the temporary file unless it was committed.
  ~PendingFile();
  PendingFile(PendingFile&& other) noexcept;
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;
  PendingFile& operator=(PendingFile&&) = delete;

  const std::filesystem::path& destination() const { return destination_; }
  const std::filesystem::path& temporary_path() const { return temporary_; }

  // Appends bytes. Throws CheckpointError naming the destination and errno's reason.
  void write(std::span<const std::byte> bytes);
  // fsync and close: the content is on disk under the temporary name.
  void finish();
  // Renames the finished file over the destination. The caller syncs the folder after its
  // last commit (sync_folder).
  void commit();

 private:
  [[noreturn]] void fail(const char* action, int error) const;
  void close_quietly() noexcept;

  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

// fsync of a folder, so that renames and removals in it are durable.
void sync_folder(const std::filesystem::path& folder);

}  // namespace lmf::checkpoint
