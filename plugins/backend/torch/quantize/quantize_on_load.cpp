#include "quantize/quantize_on_load.h"

#include "quantize/packed_linear.h"
#include "quantize/quantizer_client.h"

#include <lmf/sdk/host.h>

namespace lmf::torch_backend {

void quantize_modules_on_load(Weights& weights, const ModelConfig& config, const std::string& component,
                              const nlohmann::json& quantizer_config, torch::Device device,
                              torch::ScalarType dtype) {
  const std::string where = "load option quantize_on_load (quantizer " + component + ")";
  auto quantizer = std::make_shared<const QuantizerClient>(component, quantizer_config);
  if (quantizer->needs_calibration())
    sdk::fail(LMF_ERR_UNSUPPORTED, where + ": it needs calibration inputs; quantize with lmforge quantize instead");
  if (!quantizer->supports("matmul") || !quantizer->supports("dequantize"))
    sdk::fail(LMF_ERR_UNSUPPORTED, where + ": it does not list matmul and dequantize in its capabilities");
  if (!quantizer->runs_on(device) || (device.is_cpu() && dtype != torch::kFloat32))
    sdk::fail(LMF_ERR_UNSUPPORTED, where + ": it has no kernels for " + device.str() + " in " +
                                       std::string(c10::toString(dtype)) +
                                       " (on the CPU its matmul takes float32: load with dtype float32)");
  const int64_t matmul_tokens = quantizer->capabilities().value("matmul_tokens", int64_t{8});
  const char* const modules[] = {".self_attn.q_proj", ".self_attn.k_proj", ".self_attn.v_proj", ".self_attn.o_proj",
                                 ".mlp.gate_proj",    ".mlp.up_proj",      ".mlp.down_proj"};
  sdk::Progress progress("quantize on load (" + component + ")", config.num_layers * 7, "modules");
  for (int64_t i = 0; i < config.num_layers; ++i) {
    for (const char* module : modules) {
      const std::string name = "model.layers." + std::to_string(i) + module;
      const torch::Tensor weight = weights.find(name + ".weight");
      if (!weight.defined()) sdk::fail(LMF_ERR_DATA, weights.folder() + ": tensor " + name + ".weight is missing");
      QuantizedLayer layer = quantizer->quantize(name, weight);
      weights.erase(name + ".weight");
      weights.add_packed(name, std::make_shared<PackedLinear>(quantizer, std::move(layer), matmul_tokens, device,
                                                              dtype));
      progress.advance();
    }
  }
  weights.move_to(device, dtype);
}

}  // namespace lmf::torch_backend
