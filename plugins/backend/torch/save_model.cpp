#include "save_model.h"

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/checkpoint_folder_writer.h"

#include <lmf/sdk/error.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
namespace ckpt = lmf::checkpoint;
using nlohmann::json;

ckpt::DType checkpoint_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return ckpt::DType::F32;
    case torch::kBFloat16: return ckpt::DType::BF16;
    case torch::kFloat16: return ckpt::DType::F16;
    case torch::kFloat64: return ckpt::DType::F64;
    case torch::kInt64: return ckpt::DType::I64;
    case torch::kInt32: return ckpt::DType::I32;
    case torch::kInt8: return ckpt::DType::I8;
    case torch::kUInt8: return ckpt::DType::U8;
    case torch::kBool: return ckpt::DType::BOOL;
    default: sdk::fail(LMF_ERR_UNSUPPORTED, std::string("save: no safetensors dtype for ") + c10::toString(type));
  }
}

void write_json(const fs::path& path, const json& value) {
  std::ofstream out(path);
  out << value.dump(2) << "\n";
  if (!out.flush()) sdk::fail(LMF_ERR_IO, path.string() + ": write failed");
}

// Files of the source folder that describe the model besides its weights.
constexpr const char* kCompanionFiles[] = {"generation_config.json", "tokenizer.json",
                                           "tokenizer_config.json", "special_tokens_map.json",
                                           "tokenizer.model"};

void write_folder(const LoadedModel& model, const fs::path& folder, const json& options) {
  const std::string dtype_option = options.value("dtype", std::string("auto"));
  std::optional<torch::ScalarType> dtype;
  if (dtype_option != "auto") dtype = parse_torch_dtype(dtype_option, "save option dtype");

  // CPU copies in the saved dtype: they must live until the writer has written them.
  std::vector<torch::Tensor> host_tensors;
  std::vector<ckpt::TensorToWrite> tensors;
  host_tensors.reserve(model.weights.names().size());
  for (const std::string& name : model.weights.names()) {
    torch::Tensor tensor = model.weights.at(name);
    if (dtype && torch::isFloatingType(tensor.scalar_type())) tensor = tensor.to(*dtype);
    tensor = tensor.to(torch::kCPU).contiguous();
    host_tensors.push_back(tensor);
    const auto* bytes = static_cast<const std::byte*>(tensor.data_ptr());
    tensors.push_back({name, checkpoint_dtype(tensor.scalar_type()),
                       std::vector<int64_t>(tensor.sizes().begin(), tensor.sizes().end()),
                       {bytes, static_cast<size_t>(tensor.numel() * tensor.element_size())}});
  }
  ckpt::FolderWriteOptions write_options;
  if (options.contains("max_shard_bytes")) write_options.max_shard_bytes = options["max_shard_bytes"].get<uint64_t>();
  try {
    ckpt::write_checkpoint_folder(folder, tensors, write_options);
  } catch (const ckpt::CheckpointError& e) {
    sdk::fail(LMF_ERR_IO, e.what());
  }

  json config = model.config.raw;
  const torch::ScalarType saved = dtype.value_or(model.decoder->dtype());
  config[config.contains("torch_dtype") ? "torch_dtype" : "dtype"] = torch_dtype_name(saved);
  write_json(folder / "config.json", config);
  for (const char* name : kCompanionFiles) {
    const fs::path source = fs::path(model.folder) / name;
    if (fs::exists(source)) fs::copy_file(source, folder / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

void save_model(const LoadedModel& model, const std::string& path, const json& options) {
  const fs::path target = fs::absolute(path).lexically_normal();
  const bool overwrite = options.value("overwrite", false);
  if (fs::exists(target) && !(fs::is_directory(target) && fs::is_empty(target)) && !overwrite)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, path + ": already exists (set overwrite to replace it)");
  if (fs::absolute(model.folder).lexically_normal() == target)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, path + ": is the folder the model was loaded from, whose files are still mapped");
  const fs::path staging = target.string() + ".partial-" + std::to_string(::getpid());
  std::error_code ignored;
  fs::remove_all(staging, ignored);
  try {
    fs::create_directories(staging);
    write_folder(model, staging, options);
    if (fs::exists(target)) {
      const fs::path old = target.string() + ".old-" + std::to_string(::getpid());
      fs::rename(target, old);
      fs::rename(staging, target);
      fs::remove_all(old, ignored);
    } else {
      fs::rename(staging, target);
    }
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ignored);
    sdk::fail(LMF_ERR_IO, path + ": " + e.what());
  } catch (...) {
    fs::remove_all(staging, ignored);
    throw;
  }
}

}  // namespace lmf::torch_backend
