// The JSON header of a safetensors file, parsed and checked field by field, and the check
// that its tensors tile the data buffer exactly (Note [Safetensors validation]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/dtype.h"

namespace lmf::checkpoint {

struct HeaderTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // data_offsets, relative to the start of the data buffer
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<HeaderTensor> tensors;  // in the order the header lists them
  std::map<std::string, std::string> metadata;
};

// Parses the header bytes (between the 8-byte length and the data buffer). `file` names
// the file in messages. Throws CheckpointError.
SafetensorsHeader parse_safetensors_header(std::span<const std::byte> header_bytes,
                                           const std::string& file);

// Checks that each tensor's byte range lies in a buffer of `buffer_size` bytes, and that
// together they cover it exactly: no overlap, no gap, nothing left after the last tensor.
// Throws CheckpointError naming the file and the tensor.
void check_buffer_layout(const std::vector<HeaderTensor>& tensors, uint64_t buffer_size,
                         const std::string& file);

}  // namespace lmf::checkpoint
