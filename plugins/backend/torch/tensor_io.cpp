#include "tensor_io.h"

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/checkpoint_folder_writer.h"
#include "checkpoint/safetensors_reader.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend {
namespace {

namespace ckpt = lmf::checkpoint;

// CPU contiguous copies that live as long as the descriptions pointing into them.
struct HostTensors {
  std::vector<torch::Tensor> keep;
  std::vector<ckpt::TensorToWrite> describe;

  explicit HostTensors(const NamedTensors& tensors) {
    keep.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
      torch::Tensor host = tensor.detach().to(torch::kCPU).contiguous();
      keep.push_back(host);
      const auto* bytes = static_cast<const std::byte*>(host.data_ptr());
      describe.push_back({name, safetensors_dtype(host.scalar_type()),
                          std::vector<int64_t>(host.sizes().begin(), host.sizes().end()),
                          {bytes, static_cast<size_t>(host.numel() * host.element_size())}});
    }
  }
};

}  // namespace

torch::ScalarType torch_scalar_type(ckpt::DType dtype, const std::string& where) {
  switch (dtype) {
    case ckpt::DType::F32: return torch::kFloat32;
    case ckpt::DType::F16: return torch::kFloat16;
    case ckpt::DType::BF16: return torch::kBFloat16;
    case ckpt::DType::F64: return torch::kFloat64;
    case ckpt::DType::I64: return torch::kInt64;
    case ckpt::DType::I32: return torch::kInt32;
    case ckpt::DType::I16: return torch::kInt16;
    case ckpt::DType::I8: return torch::kInt8;
    case ckpt::DType::U8: return torch::kUInt8;
    case ckpt::DType::BOOL: return torch::kBool;
    default:
      sdk::fail(LMF_ERR_UNSUPPORTED, where + ": dtype " + std::string(ckpt::dtype_name(dtype)) +
                                         " cannot be loaded into a torch tensor here");
  }
}

ckpt::DType safetensors_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return ckpt::DType::F32;
    case torch::kBFloat16: return ckpt::DType::BF16;
    case torch::kFloat16: return ckpt::DType::F16;
    case torch::kFloat64: return ckpt::DType::F64;
    case torch::kInt64: return ckpt::DType::I64;
    case torch::kInt32: return ckpt::DType::I32;
    case torch::kInt16: return ckpt::DType::I16;
    case torch::kInt8: return ckpt::DType::I8;
    case torch::kUInt8: return ckpt::DType::U8;
    case torch::kBool: return ckpt::DType::BOOL;
    default: sdk::fail(LMF_ERR_UNSUPPORTED, std::string("no safetensors dtype for ") + c10::toString(type));
  }
}

void write_tensor_file(const std::filesystem::path& file, const NamedTensors& tensors) {
  HostTensors host(tensors);
  try {
    ckpt::write_safetensors_file(file, host.describe, {{"format", "pt"}});
  } catch (const ckpt::CheckpointError& e) {
    sdk::fail(LMF_ERR_IO, e.what());
  }
}

void write_tensor_folder(const std::filesystem::path& folder, const NamedTensors& tensors,
                         uint64_t max_shard_bytes) {
  HostTensors host(tensors);
  ckpt::FolderWriteOptions options;
  options.max_shard_bytes = max_shard_bytes;
  try {
    ckpt::write_checkpoint_folder(folder, host.describe, options);
  } catch (const ckpt::CheckpointError& e) {
    sdk::fail(LMF_ERR_IO, e.what());
  }
}

std::map<std::string, torch::Tensor> read_tensor_file(const std::filesystem::path& file) {
  std::map<std::string, torch::Tensor> out;
  try {
    ckpt::SafetensorsReader reader(file);
    for (const ckpt::TensorEntry& entry : reader.tensors()) {
      const torch::ScalarType type = torch_scalar_type(entry.dtype, file.string() + ": tensor " + entry.name);
      out[entry.name] = torch::from_blob(const_cast<std::byte*>(entry.data), entry.shape,
                                         torch::TensorOptions().dtype(type)).clone();
    }
  } catch (const ckpt::CheckpointError& e) {
    sdk::fail(LMF_ERR_DATA, e.what());
  }
  return out;
}

}  // namespace lmf::torch_backend
