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
// `awq`, from the modules' qweight tensors. Each module's packed
// tensors (read as stored, before any dtype conversion) go through the plugin's
// import_layer, and its dequantize gives "<module>.weight" in the model's dtype. The model
// then computes with dense weights: this loads and checks quantized models; the memory
// saving needs the plugins' matmul kernels in the decoder (next step of issue 7).
void add_dequantized_modules(const std::string& folder, const nlohmann::json& quantization_config, Weights& weights,
                             torch::Device device, torch::ScalarType dtype);

}  // namespace lmf::torch_backend
