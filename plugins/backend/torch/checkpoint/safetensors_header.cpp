#include "checkpoint/safetensors_header.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/strict_json.h"

namespace lmf::checkpoint {

// Note [Safetensors validation]
// A file is accepted exactly when the reference Rust crate (safetensors/src/tensor.rs,
// `SafeTensors::read_metadata` and `Metadata::validate`) accepts it, with clearer messages:
// - 8 bytes of little-endian header length N, N ≤ 100,000,000, 8 + N ≤ file size;
// - the header is UTF-8 and a JSON object; "__metadata__", when present, maps strings to
//   strings; every other member is a tensor {"dtype", "shape", "data_offsets": [begin, end]}
//   with a known dtype and non-negative integers (other members of a tensor are ignored,
//   as serde ignores them);
// - taken in order of their offsets, each tensor begins where the previous one ended (the
//   first at 0), end ≥ begin, end - begin = product(shape) × dtype size, and the last one
//   ends at the end of the file: no overlap, no gap, no trailing bytes.
// Stricter than the crate in one point: a key given twice is refused (serde keeps one of
// them silently, which leaves the other's bytes unaccounted for or aliased).

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& message) {
  throw CheckpointError(file + ": " + message);
}

[[noreturn]] void fail_tensor(const std::string& file, const std::string& tensor,
                              const std::string& message) {
  fail(file, "tensor \"" + tensor + "\": " + message);
}

std::string describe(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 60) + "...";
  return std::string(value.type_name()) + " " + text;
}

// Offset of the first byte that is not part of well-formed UTF-8 (overlong forms,
// surrogates and code points past U+10FFFF included), or npos.
size_t first_invalid_utf8(std::span<const std::byte> bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<uint8_t>(bytes[i]);
    size_t length = 0;
    uint8_t low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (lead < 0x80) {
      length = 1;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    if (i + length > bytes.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<uint8_t>(bytes[i + k]);
      const uint8_t min = k == 1 ? low : 0x80;
      const uint8_t max = k == 1 ? high : 0xBF;
      if (next < min || next > max) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

std::string range(const HeaderTensor& tensor) {
  return "[" + std::to_string(tensor.begin) + ", " + std::to_string(tensor.end) + "]";
}

uint64_t non_negative_integer(const nlohmann::json& value, const std::string& file,
                              const std::string& tensor, const std::string& field) {
  if (!value.is_number_unsigned()) {
    fail_tensor(file, tensor, field + " must be a non-negative integer, got " + describe(value));
  }
  return value.get<uint64_t>();
}

const nlohmann::json& member(const nlohmann::json& object, const char* key, const std::string& file,
                             const std::string& tensor) {
  const auto found = object.find(key);
  if (found == object.end()) fail_tensor(file, tensor, std::string("missing \"") + key + "\"");
  return *found;
}

DType parse_tensor_dtype(const nlohmann::json& info, const std::string& file,
                         const std::string& name) {
  const nlohmann::json& value = member(info, "dtype", file, name);
  if (!value.is_string()) {
    fail_tensor(file, name, "\"dtype\" must be a string, got " + describe(value));
  }
  const auto& text = value.get_ref<const std::string&>();
  const std::optional<DType> dtype = parse_dtype(text);
  if (!dtype) {
    fail_tensor(file, name,
                "unknown dtype \"" + text + "\" (supported: " + supported_dtype_names() + ")");
  }
  return *dtype;
}

std::vector<int64_t> parse_tensor_shape(const nlohmann::json& info, const std::string& file,
                                        const std::string& name) {
  const nlohmann::json& value = member(info, "shape", file, name);
  if (!value.is_array()) {
    fail_tensor(file, name, "\"shape\" must be an array, got " + describe(value));
  }
  std::vector<int64_t> shape;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string field = "\"shape\"[" + std::to_string(i) + "]";
    const uint64_t dim = non_negative_integer(value[i], file, name, field);
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      fail_tensor(file, name, field + " is too large: " + std::to_string(dim));
    }
    shape.push_back(static_cast<int64_t>(dim));
  }
  return shape;
}

HeaderTensor parse_tensor(const std::string& name, const nlohmann::json& info,
                          const std::string& file) {
  if (!info.is_object()) {
    fail_tensor(
        file, name,
        "expected an object with \"dtype\", \"shape\" and \"data_offsets\", got " + describe(info));
  }
  HeaderTensor tensor{name, parse_tensor_dtype(info, file, name),
                      parse_tensor_shape(info, file, name)};

  const nlohmann::json& offsets = member(info, "data_offsets", file, name);
  if (!offsets.is_array() || offsets.size() != 2) {
    fail_tensor(file, name, "\"data_offsets\" must be [begin, end], got " + describe(offsets));
  }
  tensor.begin = non_negative_integer(offsets[0], file, name, "\"data_offsets\"[0]");
  tensor.end = non_negative_integer(offsets[1], file, name, "\"data_offsets\"[1]");
  if (tensor.end < tensor.begin) {
    fail_tensor(file, name, "\"data_offsets\" end before they begin: " + range(tensor));
  }

  const std::optional<uint64_t> needed = tensor_byte_size(tensor.dtype, tensor.shape);
  const std::string what =
      std::string(dtype_name(tensor.dtype)) + " " + shape_to_string(tensor.shape);
  if (!needed) fail_tensor(file, name, "the size of " + what + " overflows 64 bits");
  if (tensor.end - tensor.begin != *needed) {
    fail_tensor(file, name,
                "\"data_offsets\" " + range(tensor) + " hold " +
                    std::to_string(tensor.end - tensor.begin) + " bytes, but " + what + " needs " +
                    std::to_string(*needed));
  }
  return tensor;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& value,
                                                  const std::string& file) {
  if (!value.is_object()) {
    fail(file, "header: \"__metadata__\" must be an object of strings, got " + describe(value));
  }
  std::map<std::string, std::string> metadata;
  for (const auto& [key, text] : value.items()) {
    if (!text.is_string()) {
      fail(file,
           "header: \"__metadata__\" > \"" + key + "\" must be a string, got " + describe(text));
    }
    metadata.emplace(key, text.get<std::string>());
  }
  return metadata;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const std::byte> header_bytes,
                                           const std::string& file) {
  if (const size_t bad = first_invalid_utf8(header_bytes); bad != std::string_view::npos) {
    fail(file, "header: not valid UTF-8 (byte " + std::to_string(8 + bad) + " of the file)");
  }
  const std::string_view text(reinterpret_cast<const char*>(header_bytes.data()),
                              header_bytes.size());
  const StrictJson json = parse_strict_json(text, file + ": header");
  if (!json.value.is_object()) {
    fail(file, "header: must be a JSON object, got " + std::string(json.value.type_name()));
  }

  SafetensorsHeader header;
  for (const std::string& key : json.top_level_keys) {
    const nlohmann::json& value = json.value.at(key);
    if (key == "__metadata__") {
      header.metadata = parse_metadata(value, file);
    } else {
      header.tensors.push_back(parse_tensor(key, value, file));
    }
  }
  return header;
}

void check_buffer_layout(const std::vector<HeaderTensor>& tensors, uint64_t buffer_size,
                         const std::string& file) {
  for (const HeaderTensor& tensor : tensors) {
    if (tensor.end > buffer_size) {
      fail_tensor(file, tensor.name,
                  "\"data_offsets\" " + range(tensor) + " end past the data buffer (" +
                      std::to_string(buffer_size) + " bytes; truncated file?)");
    }
  }

  std::vector<const HeaderTensor*> by_offset;
  for (const HeaderTensor& tensor : tensors) by_offset.push_back(&tensor);
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });

  uint64_t covered = 0;
  const HeaderTensor* previous = nullptr;
  for (const HeaderTensor* tensor : by_offset) {
    if (tensor->begin < covered) {
      fail_tensor(file, tensor->name,
                  "\"data_offsets\" " + range(*tensor) + " overlap tensor \"" + previous->name +
                      "\" " + range(*previous));
    }
    if (tensor->begin > covered) {
      fail_tensor(file, tensor->name,
                  "\"data_offsets\" " + range(*tensor) + " leave bytes [" +
                      std::to_string(covered) + ", " + std::to_string(tensor->begin) +
                      "] of the data buffer unused");
    }
    covered = tensor->end;
    previous = tensor;
  }
  if (covered != buffer_size) {
    fail(file, "the data buffer has " + std::to_string(buffer_size) +
                   " bytes but the tensors cover only " + std::to_string(covered) + ": bytes [" +
                   std::to_string(covered) + ", " + std::to_string(buffer_size) + "] are unused");
  }
}

}  // namespace lmf::checkpoint
