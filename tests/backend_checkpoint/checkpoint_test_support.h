// Helpers for the checkpoint tests: safetensors files assembled byte by byte (the format
// is simple enough to be its own reference), file I/O, and a file-size limit that makes
// writes fail part-way, as a full disk would.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/checkpoint_error.h"
#include "tests/support/temp_dir.h"

namespace lmf::checkpoint::testing {

using lmf::testing::Contains;
using lmf::testing::TempDir;

// The message of the CheckpointError that `action` throws; a test failure when it throws
// none.
template <typename Action>
std::string refusal_of(Action&& action) {
  try {
    action();
  } catch (const CheckpointError& error) {
    return error.what();
  }
  ADD_FAILURE() << "accepted, where a CheckpointError was expected";
  return "";
}

// 8-byte little-endian length of `header`, `header`, then `buffer`.
inline std::string safetensors_bytes(std::string_view header, std::string_view buffer) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) {
    bytes.push_back(static_cast<char>((static_cast<uint64_t>(header.size()) >> (8 * i)) & 0xFF));
  }
  bytes += header;
  bytes += buffer;
  return bytes;
}

inline std::filesystem::path write_file(const std::filesystem::path& path,
                                        std::string_view content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  return path;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

inline std::string as_string(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The names in a folder, sorted: what a failed write must leave unchanged.
inline std::vector<std::string> folder_listing(const std::filesystem::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// While alive, no file of this process may grow past `bytes`: write() fails with EFBIG
// (SIGXFSZ is ignored meanwhile), like a disk that fills up in the middle of a file.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    saved_handler_ = signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, saved_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  sighandler_t saved_handler_ = SIG_DFL;
};

}  // namespace lmf::checkpoint::testing
