#include "quantize/quantized_load.h"

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/checkpoint_folder.h"
#include "quantize/packed_linear.h"
#include "quantize/quantizer_client.h"
#include "tensor_io.h"

#include <lmf/sdk/host.h>

#include <map>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

// module -> its format, from lmforge's section or the GPTQ fields.
std::map<std::string, json> packed_modules(const json& config, const Weights& weights) {
  std::map<std::string, json> modules;
  if (config.contains("lmforge") && config["lmforge"].contains("layers")) {
    for (const auto& [module, format] : config["lmforge"]["layers"].items()) modules[module] = format;
    return modules;
  }
  const bool awq = config.value("quant_method", "") == "awq";
  // AutoAWQ's config.json says bits/group_size; its older quant_config.json form, which vLLM
  // also reads, w_bit/q_group_size.
  const json format = awq ? json{{"format", "awq"},
                                 {"bits", config.value("bits", config.value("w_bit", 4))},
                                 {"group_size", config.value("group_size", config.value("q_group_size", 128))},
                                 {"zero_point", config.value("zero_point", true)},
                                 {"version", config.value("version", "gemm")}}
                          : json{{"format", "gptq"},
                                 {"bits", config.value("bits", 4)},
                                 {"group_size", config.value("group_size", 128)},
                                 {"sym", config.value("sym", true)},
                                 {"desc_act", config.value("desc_act", false)}};
  const std::string suffix = ".qweight";
  for (const std::string& name : weights.names())
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      modules[name.substr(0, name.size() - suffix.size())] = format;
  return modules;
}

std::string component_for(const json& config) {
  if (config.contains("lmforge")) return config["lmforge"].value("quantizer", "");
  const std::string method = config.value("quant_method", "");
  if (method == "awq") return "awq";  // AutoAWQ's GEMM layout (the awq plugin reads "gemm" only)
  if (method != "gptq")
    sdk::fail(LMF_ERR_UNSUPPORTED, "quantization_config: quant_method \"" + method + "\" is not one lmforge reads");
  try {
    sdk::find_component(LMF_KIND_QUANTIZER, "gptq");
    return "gptq";
  } catch (const std::exception&) {
    return "rtn";  // reads the same layout without calibrating
  }
}

// Whether the modules stay packed (Note [Packed weights]): "auto" where the plugin has
// kernels for a CUDA device; "on" wherever it has them, else an error saying why.
bool keep_packed(const QuantizerClient& quantizer, const std::string& option, torch::Device device,
                 torch::ScalarType dtype) {
  if (option == "off") return false;
  const bool has_ops = quantizer.supports("matmul") && quantizer.supports("dequantize");
  const bool has_device = quantizer.runs_on(device) && (device.is_cuda() || dtype == torch::kFloat32);
  if (option == "auto") return device.is_cuda() && has_ops && has_device;
  if (!has_ops)
    sdk::fail(LMF_ERR_UNSUPPORTED, "load option packed_weights on: quantizer " + quantizer.name() +
                                       " does not list matmul and dequantize in its capabilities");
  if (!has_device)
    sdk::fail(LMF_ERR_UNSUPPORTED, "load option packed_weights on: quantizer " + quantizer.name() +
                                       " has no kernels for " + device.str() + " in " +
                                       std::string(c10::toString(dtype)) +
                                       " (on the CPU its matmul takes float32: load with dtype float32)");
  return true;
}

}  // namespace

void add_quantized_modules(const std::string& folder, const json& quantization_config, Weights& weights,
                           torch::Device device, torch::ScalarType dtype, const std::string& packed_weights) {
  const std::map<std::string, json> modules = packed_modules(quantization_config, weights);
  if (modules.empty()) return;
  const std::string component = component_for(quantization_config);
  auto quantizer = std::make_shared<const QuantizerClient>(component, json::object());
  const bool packed = keep_packed(*quantizer, packed_weights, device, dtype);
  const int64_t matmul_tokens = quantizer->capabilities().value("matmul_tokens", int64_t{8});
  std::unique_ptr<checkpoint::CheckpointFolder> files;
  try {
    files = std::make_unique<checkpoint::CheckpointFolder>(folder);
  } catch (const checkpoint::CheckpointError& e) {
    sdk::fail(LMF_ERR_DATA, e.what());
  }
  for (const auto& [module, format] : modules) {
    std::vector<std::pair<std::string, torch::Tensor>> parts;
    for (const checkpoint::TensorEntry* entry : files->tensors()) {
      if (entry->name.rfind(module + ".", 0) != 0) continue;
      const std::string part = entry->name.substr(module.size() + 1);
      if (part.find('.') != std::string::npos || part == "bias") continue;
      const torch::ScalarType stored = torch_scalar_type(entry->dtype, folder + ": tensor " + entry->name);
      parts.emplace_back(part, torch::from_blob(const_cast<std::byte*>(entry->data), entry->shape,
                                                torch::TensorOptions().dtype(stored)));
      weights.mark_used(entry->name);
    }
    if (parts.empty()) sdk::fail(LMF_ERR_DATA, folder + ": quantized module " + module + " has no tensors");
    QuantizedLayer layer = quantizer->import_layer(parts, format);
    if (!packed) {
      weights.add(module + ".weight", quantizer->dequantize(layer).to(device, dtype));
      continue;
    }
    // The plugin's layer holds the packed tensors now: the loaded copies go.
    for (const auto& [part, tensor] : parts) weights.erase(module + "." + part);
    weights.add_packed(module, std::make_shared<PackedLinear>(quantizer, std::move(layer), matmul_tokens,
                                                              device, dtype));
  }
}

}  // namespace lmf::torch_backend
