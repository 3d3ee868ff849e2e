// A whole file mapped read-only into memory, unmapped when the object goes away.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace lmf::checkpoint {

// How the kernel should expect the mapping to be read (madvise). A hint only: a kernel
// that refuses it changes nothing.
enum class MapAdvice {
  kNormal,
  kSequential,  // read once front to back, e.g. copying every tensor to the GPU
  kWillNeed,    // start reading the whole file in now
};

// Move-only. The bytes stay valid, at the same address, for the object's lifetime and
// across moves. The file must not be truncated while it is mapped (the process would get
// SIGBUS on the lost pages): checkpoints are written to a new name and renamed, never
// rewritten in place (Note [Atomic writes]).
class MappedFile {
 public:
  // Throws CheckpointError naming the path and the system's reason (errno text).
  explicit MappedFile(const std::filesystem::path& path, MapAdvice advice = MapAdvice::kSequential);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  void unmap() noexcept;

  std::filesystem::path path_;
  const std::byte* data_ = nullptr;  // null for an empty file: mmap cannot map 0 bytes
  size_t size_ = 0;
};

}  // namespace lmf::checkpoint
