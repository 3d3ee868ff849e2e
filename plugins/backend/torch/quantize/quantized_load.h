// Loading a quantized checkpoint: every quantized module's weight rebuilt through the
// quantizer plugin that reads its format.
#pragma once

#include "weights.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace lmf::torch_backend {

// Note [Quantized checkpoints on load]: config.json's quantization_config says which
// modules are packed and how — lmforge's own folders name the component and each module's
// format under "lmforge"; other GPTQ-layout folders (AutoGPTQ, GPTQModel) are read with the
// `gptq` component, else `rtn`, and AutoAWQ's (quant_method "awq", the GEMM layout) with
// `awq`, from the modules' qweight tensors. Each module's packed tensors (read as stored,
// before any dtype conversion) go through the plugin's import_layer. Then, by the load
// option `packed_weights` (Note [Packed weights]): "off" (and "auto" on the CPU, or where
// the plugin has no kernels for the device) adds the plugin's dequantize of each module as
// "<module>.weight" in the model's dtype and the model computes with dense weights; "on"
// (and "auto" on CUDA where the plugin runs there) keeps each module packed
// (Weights::add_packed) and drops the loaded copies of its packed tensors.
void add_quantized_modules(const std::string& folder, const nlohmann::json& quantization_config,
                           Weights& weights, torch::Device device, torch::ScalarType dtype,
                           const std::string& packed_weights);

}  // namespace lmf::torch_backend
