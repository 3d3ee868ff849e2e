// One safetensors file, memory-mapped and validated (Note [Safetensors validation]); its
// tensors are views into the mapping, never copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "checkpoint/dtype.h"
#include "checkpoint/mapped_file.h"

namespace lmf::checkpoint {

// A tensor of a file. `data` points into the file's mapping and is valid as long as the
// reader that produced it lives (moves included). Safetensors data is little-endian,
// C-contiguous; `data` is not necessarily aligned to the element size.
struct TensorEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t nbytes = 0;

  std::span<const std::byte> bytes() const { return {data, nbytes}; }
};

class SafetensorsReader {
 public:
  // The Rust crate's limit: a longer header is taken for a corrupt file.
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;

  // Maps and validates the file. Throws CheckpointError naming the file, and the tensor or
  // header field at fault.
  explicit SafetensorsReader(const std::filesystem::path& path,
                             MapAdvice advice = MapAdvice::kSequential);

  const std::filesystem::path& path() const { return file_.path(); }

  // In the order the header lists them.
  std::span<const TensorEntry> tensors() const { return tensors_; }

  // Null when the file has no tensor of that name.
  const TensorEntry* find(std::string_view name) const;
  // Throws CheckpointError naming the file and the tensor when there is none.
  const TensorEntry& at(std::string_view name) const;

  // The header's "__metadata__" (Hugging Face writes {"format": "pt"}); empty when absent.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MappedFile file_;
  std::vector<TensorEntry> tensors_;
  std::map<std::string, size_t, std::less<>> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

}  // namespace lmf::checkpoint
