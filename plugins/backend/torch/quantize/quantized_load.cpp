#include "quantize/quantized_load.h"

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/checkpoint_folder.h"
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

}  // namespace

void add_dequantized_modules(const std::string& folder, const json& quantization_config, Weights& weights,
                             torch::Device device, torch::ScalarType dtype) {
  const std::map<std::string, json> modules = packed_modules(quantization_config, weights);
  if (modules.empty()) return;
  const std::string component = component_for(quantization_config);
  QuantizerClient quantizer(component, json::object());
  std::unique_ptr<checkpoint::CheckpointFolder> files;
  try {
    files = std::make_unique<checkpoint::CheckpointFolder>(folder);
  } catch (const checkpoint::CheckpointError& e) {
    sdk::fail(LMF_ERR_DATA, e.what());
  }
  for (const auto& [module, format] : modules) {
    std::vector<std::pair<std::string, torch::Tensor>> packed;
    for (const checkpoint::TensorEntry* entry : files->tensors()) {
      if (entry->name.rfind(module + ".", 0) != 0) continue;
      const std::string part = entry->name.substr(module.size() + 1);
      if (part.find('.') != std::string::npos || part == "bias") continue;
      const torch::ScalarType stored = torch_scalar_type(entry->dtype, folder + ": tensor " + entry->name);
      packed.emplace_back(part, torch::from_blob(const_cast<std::byte*>(entry->data), entry->shape,
                                                 torch::TensorOptions().dtype(stored)));
      weights.mark_used(entry->name);
    }
    if (packed.empty()) sdk::fail(LMF_ERR_DATA, folder + ": quantized module " + module + " has no tensors");
    QuantizedLayer layer = quantizer.import_layer(packed, format);
    weights.add(module + ".weight", quantizer.dequantize(layer).to(device, dtype));
  }
}

}  // namespace lmf::torch_backend
