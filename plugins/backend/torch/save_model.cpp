#include "save_model.h"

#include "tensor_io.h"

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

void write_json(const fs::path& path, const json& value) {
  std::ofstream out(path);
  out << value.dump(2) << "\n";
  if (!out.flush()) sdk::fail(LMF_ERR_IO, path.string() + ": write failed");
}

// Files of the source folder that describe the model besides its weights.
constexpr const char* kCompanionFiles[] = {"generation_config.json", "tokenizer.json",
                                           "tokenizer_config.json", "special_tokens_map.json",
                                           "tokenizer.model"};

void write_folder(const LoadedModel& model, const fs::path& folder, const json& options,
                  const SaveOverrides& overrides) {
  const std::string dtype_option = options.value("dtype", std::string("auto"));
  std::optional<torch::ScalarType> dtype;
  if (dtype_option != "auto") dtype = parse_torch_dtype(dtype_option, "save option dtype");

  // Note [Packed weights]: a packed module's tensors live in its quantizer plugin, not here.
  if (model.weights.has_packed())
    sdk::fail(LMF_ERR_UNSUPPORTED, "save: the model computes with packed (quantized) modules, whose weights "
                                   "this save would leave out; load it with packed_weights off and without "
                                   "quantize_on_load to save it");
  NamedTensors tensors;
  tensors.reserve(model.weights.names().size());
  for (const std::string& name : model.weights.names()) {
    if (overrides.drop.count(name) != 0) continue;
    torch::Tensor tensor = model.weights.at(name);
    if (dtype && torch::isFloatingType(tensor.scalar_type())) tensor = tensor.to(*dtype);
    tensors.emplace_back(name, tensor);
  }
  tensors.insert(tensors.end(), overrides.add.begin(), overrides.add.end());
  write_tensor_folder(folder, tensors, options.value("max_shard_bytes", ckpt::FolderWriteOptions{}.max_shard_bytes));

  json config = model.config.raw;
  const torch::ScalarType saved = dtype.value_or(model.decoder->dtype());
  config[config.contains("torch_dtype") ? "torch_dtype" : "dtype"] = torch_dtype_name(saved);
  config.merge_patch(overrides.config_patch);
  write_json(folder / "config.json", config);
  for (const char* name : kCompanionFiles) {
    const fs::path source = fs::path(model.folder) / name;
    if (fs::exists(source)) fs::copy_file(source, folder / name, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

void save_model(const LoadedModel& model, const std::string& path, const json& options) {
  save_model(model, path, options, SaveOverrides{});
}

void save_model(const LoadedModel& model, const std::string& path, const json& options,
                const SaveOverrides& overrides) {
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
    write_folder(model, staging, options, overrides);
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
