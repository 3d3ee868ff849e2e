#include "checkpoint/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "checkpoint/checkpoint_error.h"

namespace lmf::checkpoint {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const char* action, int error) {
  throw CheckpointError(path.string() + ": cannot " + action + ": " + std::strerror(error));
}

int advice_flag(MapAdvice advice) {
  switch (advice) {
    case MapAdvice::kSequential:
      return MADV_SEQUENTIAL;
    case MapAdvice::kWillNeed:
      return MADV_WILLNEED;
    case MapAdvice::kNormal:
      break;
  }
  return MADV_NORMAL;
}

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct FdGuard {
  int fd;
  ~FdGuard() { ::close(fd); }
};

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path, MapAdvice advice) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, "open", errno);
  FdGuard guard{fd};

  struct stat status {};
  if (::fstat(fd, &status) != 0) fail(path, "stat", errno);
  if (!S_ISREG(status.st_mode)) {
    throw CheckpointError(path.string() + ": not a regular file");
  }
  size_ = static_cast<size_t>(status.st_size);
  if (size_ == 0) return;

  void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (mapping == MAP_FAILED) fail(path, "map", errno);
  data_ = static_cast<const std::byte*>(mapping);
  ::madvise(mapping, size_, advice_flag(advice));
}

MappedFile::~MappedFile() {
  unmap();
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void MappedFile::unmap() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace lmf::checkpoint
