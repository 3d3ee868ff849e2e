#include "checkpoint/safetensors_writer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/safetensors_reader.h"

namespace lmf::checkpoint {

// Note [Tensor order]
// The Rust crate (safetensors/src/tensor.rs, `prepare`) sorts the tensors by dtype,
// descending in the order its `Dtype` enum declares them (U64, I64, F64, F32, ...,
// BOOL: "decreasing alignment", so that each tensor starts aligned when the header is),
// then by name, comparing bytes; it lays them out back to back in that order, and writes
// the header as compact JSON: "__metadata__" first when given, then the tensors in buffer
// order, each as {"dtype","shape","data_offsets"}, padded with spaces to a multiple of 8
// bytes. We do the same, so a file is byte-identical to `safetensors.torch.save_file`'s
// for the same tensors (tests/fixtures/checkpoint/make_safetensors_fixture.py checks it).
// One caveat: the crate keeps "__metadata__" in a hash map in some versions, so with more
// than one metadata key its key order varies; we write the keys sorted.

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& message) {
  throw CheckpointError(file + ": " + message);
}

// JSON string literal; nlohmann escapes as serde_json does (", \, control characters
// only) and refuses invalid UTF-8.
std::string quoted(const std::string& text, const std::string& file, const std::string& what) {
  try {
    return nlohmann::json(text).dump();
  } catch (const nlohmann::json::exception&) {
    fail(file, what + " is not valid UTF-8");
  }
}

void check_tensor(const TensorToWrite& tensor, const std::string& file) {
  const std::string where = "tensor \"" + tensor.name + "\": ";
  if (tensor.name == "__metadata__") {
    fail(file, where + "the name is reserved for the file's metadata");
  }
  const std::optional<uint64_t> needed = tensor_byte_size(tensor.dtype, tensor.shape);
  const std::string what =
      std::string(dtype_name(tensor.dtype)) + " " + shape_to_string(tensor.shape);
  if (!needed) fail(file, where + "shape " + what + " has a negative or too large dimension");
  if (tensor.data.size() != *needed) {
    fail(file, where + std::to_string(tensor.data.size()) + " bytes of data, but " + what +
                   " needs " + std::to_string(*needed));
  }
}

std::string header_json(const std::vector<const TensorToWrite*>& order,
                        const FileMetadata& metadata, const std::string& file) {
  std::string json = "{";
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) json += ",";
      first = false;
      json += quoted(key, file, "a metadata key") + ":" +
              quoted(value, file, "metadata \"" + key + "\"");
    }
    json += "}";
  }
  uint64_t offset = 0;
  for (const TensorToWrite* tensor : order) {
    if (json.size() > 1) json += ",";
    std::string shape;
    for (int64_t dim : tensor->shape) shape += (shape.empty() ? "" : ",") + std::to_string(dim);
    const uint64_t end = offset + tensor->data.size();
    json += quoted(tensor->name, file, "a tensor name") + ":{\"dtype\":\"" +
            std::string(dtype_name(tensor->dtype)) + "\",\"shape\":[" + shape +
            "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  return json + "}";
}

}  // namespace

SafetensorsLayout layout_safetensors(std::span<const TensorToWrite* const> tensors,
                                     const FileMetadata& metadata, const std::string& file) {
  std::set<std::string_view> names;
  for (const TensorToWrite* tensor : tensors) {
    check_tensor(*tensor, file);
    if (!names.insert(tensor->name).second) {
      fail(file, "tensor \"" + tensor->name + "\" is given twice");
    }
  }

  SafetensorsLayout layout;
  layout.order.assign(tensors.begin(), tensors.end());
  std::sort(layout.order.begin(), layout.order.end(), [](const auto* a, const auto* b) {
    if (a->dtype != b->dtype) return a->dtype > b->dtype;
    return a->name < b->name;
  });

  std::string json = header_json(layout.order, metadata, file);
  json.resize((json.size() + 7) / 8 * 8, ' ');
  if (json.size() > SafetensorsReader::kMaxHeaderBytes) {
    fail(file, "the header would take " + std::to_string(json.size()) +
                   " bytes, more than the format's limit of " +
                   std::to_string(SafetensorsReader::kMaxHeaderBytes));
  }

  uint64_t length = json.size();
  layout.prefix.resize(8);
  for (size_t i = 0; i < 8; ++i) layout.prefix[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  layout.prefix += json;

  layout.file_size = layout.prefix.size();
  for (const TensorToWrite* tensor : layout.order) layout.file_size += tensor->data.size();
  return layout;
}

PendingFile write_pending_safetensors(const std::filesystem::path& destination,
                                      const SafetensorsLayout& layout) {
  PendingFile file(destination);
  file.write(std::as_bytes(std::span(layout.prefix)));
  for (const TensorToWrite* tensor : layout.order) file.write(tensor->data);
  file.finish();
  return file;
}

void write_safetensors_file(const std::filesystem::path& path,
                            std::span<const TensorToWrite> tensors, const FileMetadata& metadata) {
  std::vector<const TensorToWrite*> pointers;
  for (const TensorToWrite& tensor : tensors) pointers.push_back(&tensor);
  PendingFile file =
      write_pending_safetensors(path, layout_safetensors(pointers, metadata, path.string()));
  file.commit();
  sync_folder(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
}

}  // namespace lmf::checkpoint
