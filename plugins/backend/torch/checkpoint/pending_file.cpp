#include "checkpoint/pending_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "checkpoint/checkpoint_error.h"

namespace lmf::checkpoint {
namespace {

std::filesystem::path temporary_name(const std::filesystem::path& destination) {
  static std::atomic<unsigned> counter{0};
  const std::string name = "." + destination.filename().string() + ".tmp-" +
                           std::to_string(::getpid()) + "-" + std::to_string(counter++);
  return destination.parent_path() / name;
}

}  // namespace

PendingFile::PendingFile(std::filesystem::path destination) : destination_(std::move(destination)) {
  constexpr int kAttempts = 16;  // another writer may hold a name from an earlier counter
  for (int attempt = 0; attempt < kAttempts && fd_ < 0; ++attempt) {
    temporary_ = temporary_name(destination_);
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) fail("create a temporary file for", errno);
  }
  if (fd_ < 0) fail("create a temporary file for", EEXIST);
}

PendingFile::PendingFile(PendingFile&& other) noexcept
    : destination_(std::move(other.destination_)),
      temporary_(std::move(other.temporary_)),
      fd_(std::exchange(other.fd_, -1)),
      committed_(std::exchange(other.committed_, true)) {}

PendingFile::~PendingFile() {
  close_quietly();
  if (!committed_) ::unlink(temporary_.c_str());
}

void PendingFile::write(std::span<const std::byte> bytes) {
  const std::byte* next = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t written = ::write(fd_, next, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("write", errno);
    }
    next += written;
    left -= static_cast<size_t>(written);
  }
}

void PendingFile::finish() {
  if (::fsync(fd_) != 0) fail("flush", errno);
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) fail("close", errno);
}

void PendingFile::commit() {
  if (::rename(temporary_.c_str(), destination_.c_str()) != 0) fail("rename into", errno);
  committed_ = true;
}

void PendingFile::fail(const char* action, int error) const {
  throw CheckpointError("cannot " + std::string(action) + " " + destination_.string() + " (" +
                        temporary_.filename().string() + "): " + std::strerror(error));
}

void PendingFile::close_quietly() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

void sync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    throw CheckpointError("cannot open folder " + folder.string() +
                          " to sync it: " + std::strerror(errno));
  }
  const int result = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (result != 0) {
    throw CheckpointError("cannot sync folder " + folder.string() + ": " + std::strerror(error));
  }
}

}  // namespace lmf::checkpoint
