#include "loaded_model.h"

#include "quantize/quantize_on_load.h"
#include "quantize/quantized_load.h"

#include <lmf/sdk/error.h>
#include <lmf/sdk/host.h>

#include <filesystem>
#include <fstream>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_optional_json(const fs::path& path) {
  if (!fs::exists(path)) return json::object();
  std::ifstream in(path);
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    sdk::fail(LMF_ERR_DATA, path.string() + ": not valid JSON: " + e.what());
  }
}

// null, or {"quantizer": NAME, "config": {...}} with "config" defaulting to {}.
json quantize_on_load_option(const json& value) {
  if (value.is_null()) return value;
  const auto quantizer = value.is_object() ? value.find("quantizer") : value.end();
  if (quantizer == value.end() || !quantizer->is_string())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              "load option quantize_on_load must be {\"quantizer\": NAME, \"config\": {...}} or null, got " + value.dump());
  for (const auto& [field, unused] : value.items())
    if (field != "quantizer" && field != "config")
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option quantize_on_load: unknown field \"" + field + "\" (quantizer, config)");
  const json config = value.value("config", json::object());
  if (!config.is_object())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option quantize_on_load: \"config\" must be an object, got " + config.dump());
  return json{{"quantizer", *quantizer}, {"config", config}};
}

}  // namespace

LoadOptions LoadOptions::from_json(const json& options, const LoadOptions& defaults) {
  LoadOptions out = defaults;
  for (const auto& [key, value] : options.items()) {
    auto text = [&] {
      if (!value.is_string()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option " + key + " must be a string");
      return value.get<std::string>();
    };
    if (key == "device") out.device = text();
    else if (key == "dtype") out.dtype = text();
    else if (key == "tokenizer") out.tokenizer = text();
    else if (key == "fuse_projections") {
      out.fuse_projections = text();
      if (out.fuse_projections != "auto" && out.fuse_projections != "on" && out.fuse_projections != "off")
        sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option fuse_projections must be auto, on or off");
    } else if (key == "cuda_graphs") {
      if (!value.is_boolean()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option cuda_graphs must be true or false");
      out.cuda_graphs = value.get<bool>();
    }
    else if (key == "fused_kernels") {
      if (!value.is_boolean()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option fused_kernels must be true or false");
      out.fused_kernels = value.get<bool>();
    } else if (key == "packed_weights") {
      out.packed_weights = text();
      if (out.packed_weights != "auto" && out.packed_weights != "on" && out.packed_weights != "off")
        sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option packed_weights must be auto, on or off");
    } else if (key == "quantize_on_load") {
      out.quantize_on_load = quantize_on_load_option(value);
    } else if (key == "decode_kernels") {
      if (!value.is_boolean()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option decode_kernels must be true or false");
      out.decode_kernels = value.get<bool>();
    } else if (key == "fused_attention") {
      if (!value.is_boolean()) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "load option fused_attention must be true or false");
      out.fused_attention = value.get<bool>();
    } else {
      sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                "unknown load option \"" + key +
                    "\" (device, dtype, fused_attention, fused_kernels, decode_kernels, fuse_projections, packed_weights, quantize_on_load, cuda_graphs, tokenizer)");
    }
  }
  return out;
}

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "device \"" + name + "\" is not a device (auto, cpu, cuda, cuda:N)");
  }
  if (device.is_cuda() && !torch::cuda::is_available())
    sdk::fail(LMF_ERR_UNSUPPORTED, "device \"" + name + "\": this libtorch has no CUDA device");
  return device;
}

torch::ScalarType resolve_dtype(const std::string& name, const ModelConfig& config, torch::Device device) {
  if (name != "auto") return parse_torch_dtype(name, "dtype");
  if (device.is_cpu()) return torch::kFloat32;
  return parse_torch_dtype(config.torch_dtype, "config.json dtype");
}

std::unique_ptr<LoadedModel> LoadedModel::load(const std::string& folder, const LoadOptions& options) {
  if (!fs::is_directory(folder))
    sdk::fail(LMF_ERR_NOT_FOUND, folder + ": not a folder (a Hugging Face model folder is expected)");
  auto model = std::make_unique<LoadedModel>();
  model->folder = folder;
  model->config = read_model_config(folder);
  const torch::Device device = resolve_device(options.device);
  const torch::ScalarType dtype = resolve_dtype(options.dtype, model->config, device);
  if (!options.quantize_on_load.is_null()) {  // Note [Quantized on load]
    if (model->config.raw.contains("quantization_config"))
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, folder + ": load option quantize_on_load: the checkpoint is quantized already");
    model->weights = Weights::load(folder, torch::kCPU, std::nullopt);  // mapped: no copy
    quantize_modules_on_load(model->weights, model->config, options.quantize_on_load["quantizer"].get<std::string>(),
                             options.quantize_on_load["config"], device, dtype);
  } else {
    model->weights = Weights::load(folder, device, dtype);
  }
  if (model->config.raw.contains("quantization_config"))
    add_quantized_modules(folder, model->config.raw["quantization_config"], model->weights, device, dtype,
                          options.packed_weights);
  const bool fuse = options.fuse_projections == "on" || (options.fuse_projections == "auto" && device.is_cuda());
  model->decoder = std::make_unique<Decoder>(model->config, model->weights, device, fuse);
  model->decoder->set_fused_attention(options.fused_attention);
  model->decoder->set_cuda_graphs(options.cuda_graphs);
  model->decoder->set_fused_kernels(options.fused_kernels);
  model->decoder->set_decode_kernels(options.decode_kernels);
  for (const std::string& name : model->weights.unused())
    sdk::log_warning("torch backend: " + folder + ": tensor " + name + " is not used by the model");
  model->generation_config = read_optional_json(fs::path(folder) / "generation_config.json");
  model->sampling_defaults = torch_backend::sampling_defaults(model->generation_config);
  if (!options.tokenizer.empty() && fs::exists(fs::path(folder) / "tokenizer.json"))
    model->tokenizer = std::make_unique<TokenizerClient>(options.tokenizer, json{{"path", folder}}.dump());
  return model;
}

const TokenizerClient& LoadedModel::require_tokenizer(const std::string& why) const {
  if (!tokenizer)
    sdk::fail(LMF_ERR_NOT_FOUND, folder + ": has no tokenizer.json, which " + why + " needs");
  return *tokenizer;
}

json LoadedModel::info() const {
  const ModelConfig& c = config;
  return {
      {"path", folder},
      {"architecture", c.architecture},
      {"model_type", c.model_type},
      {"vocab_size", c.vocab_size},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_layers", c.num_layers},
      {"num_heads", c.num_heads},
      {"num_kv_heads", c.num_kv_heads},
      {"head_dim", c.head_dim},
      {"context", c.max_position_embeddings},
      {"rope_scaling", c.rope_scaling.type},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"parameters", weights.parameter_count()},
      {"weight_bytes", weights.bytes()},
      {"dtype", torch_dtype_name(decoder->dtype())},
      {"device", decoder->device().str()},
      {"eos_token_ids", c.eos_token_ids},
      {"tokenizer", tokenizer != nullptr},
  };
}

}  // namespace lmf::torch_backend
