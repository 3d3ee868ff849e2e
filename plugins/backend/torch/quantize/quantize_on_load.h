// Quantizing a full-precision checkpoint while it loads (the load option quantize_on_load),
// as bitsandbytes' load_in_4bit does: what QLoRA trains beside.
#pragma once

#include "model_config.h"
#include "weights.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

namespace lmf::torch_backend {

// Note [Quantized on load]
// Every projection of every block (q/k/v/o, gate/up/down) goes through the quantizer
// `component` (with `quantizer_config`; one that needs no calibration, e.g. nf4 or rtn)
// from the weights as loaded — still the checkpoint's mapped memory on the CPU — and stays
// packed on `device` (Note [Packed weights]); its dense tensor is dropped at once, so the
// device never holds more than the packed model and the host more than one module in
// float32. Then the remaining tensors (embeddings, norms, the LM head, biases) move to
// `device` in `dtype`. Refused with a message naming the reason when the quantizer needs
// calibration or has no kernels for the device and dtype.
void quantize_modules_on_load(Weights& weights, const ModelConfig& config, const std::string& component,
                              const nlohmann::json& quantizer_config, torch::Device device,
                              torch::ScalarType dtype);

}  // namespace lmf::torch_backend
