#include "checkpoint/safetensors_reader.h"

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/safetensors_header.h"

namespace lmf::checkpoint {
namespace {

constexpr size_t kLengthBytes = 8;

uint64_t read_little_endian_u64(std::span<const std::byte> bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < kLengthBytes; ++i) {
    value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  }
  return value;
}

}  // namespace

// Note [Safetensors validation] (safetensors_header.cpp) lists what is checked.
SafetensorsReader::SafetensorsReader(const std::filesystem::path& path, MapAdvice advice)
    : file_(path, advice) {
  const std::string name = path.string();
  const std::span<const std::byte> bytes = file_.bytes();
  if (bytes.size() < kLengthBytes) {
    throw CheckpointError(name + ": " + std::to_string(bytes.size()) +
                          " bytes, too short for a safetensors file (it starts with an "
                          "8-byte header length)");
  }
  const uint64_t header_length = read_little_endian_u64(bytes);
  if (header_length > kMaxHeaderBytes) {
    throw CheckpointError(name + ": header length " + std::to_string(header_length) +
                          " exceeds the limit of " + std::to_string(kMaxHeaderBytes) +
                          " bytes (not a safetensors file, or a corrupt one)");
  }
  if (header_length > bytes.size() - kLengthBytes) {
    throw CheckpointError(name + ": header length " + std::to_string(header_length) +
                          " runs past the end of the file (" + std::to_string(bytes.size()) +
                          " bytes; truncated file?)");
  }

  SafetensorsHeader header =
      parse_safetensors_header(bytes.subspan(kLengthBytes, header_length), name);
  const std::span<const std::byte> buffer = bytes.subspan(kLengthBytes + header_length);
  check_buffer_layout(header.tensors, buffer.size(), name);

  tensors_.reserve(header.tensors.size());
  for (HeaderTensor& tensor : header.tensors) {
    index_.emplace(tensor.name, tensors_.size());
    tensors_.push_back({std::move(tensor.name), tensor.dtype, std::move(tensor.shape),
                        buffer.data() + tensor.begin,
                        static_cast<size_t>(tensor.end - tensor.begin)});
  }
  metadata_ = std::move(header.metadata);
}

const TensorEntry* SafetensorsReader::find(std::string_view name) const {
  const auto found = index_.find(name);
  return found == index_.end() ? nullptr : &tensors_[found->second];
}

const TensorEntry& SafetensorsReader::at(std::string_view name) const {
  const TensorEntry* entry = find(name);
  if (entry == nullptr) {
    throw CheckpointError(path().string() + ": no tensor \"" + std::string(name) + "\"");
  }
  return *entry;
}

}  // namespace lmf::checkpoint
