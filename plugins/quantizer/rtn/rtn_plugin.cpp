// The rtn quantizer: round-to-nearest onto the grid GPTQ uses (Note [GPTQ grid]), 2, 3, 4 or
// 8 bits, per group or per output channel, symmetric or asymmetric. Its layers are in the
// GPTQ checkpoint layout (Note [GPTQ checkpoint layout]) with the format_json
//   {"format":"gptq","method":"rtn","bits":4,"group_size":128,"sym":true,"desc_act":false},
// so they save as AutoGPTQ checkpoints and share the GPTQ kernels (docs/quantization.md).
#include "plugins/quantizer/rtn/rtn_quantize.h"

#include "plugins/quantizer/common/gptq_sdk_layer.h"

#include <lmf/sdk/quantizer.h>

#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using lmf::quant::RtnSettings;
using lmf::sdk::fail;
using lmf::sdk::Json;
using lmf::sdk::QuantizedLayer;
using lmf::sdk::TensorView;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "bits": {
      "type": "integer",
      "enum": [2, 3, 4, 8],
      "default": 4,
      "description": "Bits per weight: 2, 3, 4 or 8 (what the GPTQ layout stores)."
    },
    "group_size": {
      "type": "integer",
      "anyOf": [{"const": -1}, {"minimum": 1}],
      "default": 128,
      "description": "Input columns sharing a scale and zero: -1 for one group per output channel, else a divisor of each layer's in_features (32, 64, 128...); a layer with fewer input columns gets one group."
    },
    "sym": {
      "type": "boolean",
      "default": true,
      "description": "Symmetric grid (zero fixed at 2^(bits-1)) or asymmetric (min/max range holding 0)."
    }
  }
})";

RtnSettings read_settings(const Json& config) {
  RtnSettings settings;
  settings.bits = config.value("bits", 4);
  settings.group_size = config.value("group_size", int64_t{128});
  settings.sym = config.value("sym", true);
  // The host validated the config against the schema; this guards direct callers.
  if (settings.bits != 2 && settings.bits != 3 && settings.bits != 4 && settings.bits != 8)
    fail(LMF_ERR_INVALID_ARGUMENT, "config \"bits\" is " + std::to_string(settings.bits) +
                                       ", but rtn's GPTQ layout stores 2, 3, 4 or 8 bits");
  if (settings.group_size != -1 && settings.group_size <= 0)
    fail(LMF_ERR_INVALID_ARGUMENT, "config \"group_size\" is " +
                                       std::to_string(settings.group_size) +
                                       ", expected -1 (per output channel) or a positive size");
  return settings;
}

class Rtn final : public lmf::sdk::Quantizer {
 public:
  explicit Rtn(const Json& config) : settings_(read_settings(config)) {}

  Json capabilities() override {
    return {{"formats", {"gptq"}},
            {"bits", {settings_.bits}},
            {"group_sizes", {settings_.group_size}},
            {"symmetric", {settings_.sym}},
            {"needs_calibration", false},
            {"devices", lmf::quant::gptq_layer_devices()},
            {"ops", {"dequantize", "matmul", "import_layer"}},
            {"matmul_tokens", lmf::quant::gptq_layer_matmul_tokens()}};
  }

  std::unique_ptr<QuantizedLayer> quantize(std::string_view layer,
                                           const DLTensor& weight) override {
    const std::string name = "layer \"" + std::string(layer) + "\"";
    TensorView w(weight, "weight of " + name);
    w.expect_cpu(lmf::sdk::dtype_of<float>(), 2);
    try {
      const lmf::quant::QuantizedCodes codes =
          lmf::quant::rtn_quantize(w.data<float>(), w.dim(0), w.dim(1), settings_);
      return lmf::quant::make_gptq_layer(codes, Json{{"method", "rtn"}});
    } catch (const std::invalid_argument& e) {
      fail(LMF_ERR_INVALID_ARGUMENT, "rtn: " + name + ": " + e.what());
    }
  }

  std::unique_ptr<QuantizedLayer> import_layer(std::span<const lmf_named_tensor> tensors,
                                               const Json& format) override {
    return lmf::quant::import_gptq_layer(tensors, format);
  }

  void dequantize(const QuantizedLayer& layer, DLTensor& weight, void* stream) override {
    lmf::quant::dequantize_gptq_layer(layer, weight, stream);
  }

  void matmul(const QuantizedLayer& layer, const DLTensor& x, DLTensor& y, void* stream) override {
    lmf::quant::matmul_gptq_layer(layer, x, y, stream);
  }

 private:
  RtnSettings settings_;
};

}  // namespace

LMF_PLUGIN("lmforge-quantizer-rtn", "0.1.0", "lmforge",
           "round-to-nearest quantizer: GPTQ's grid, layers in the GPTQ checkpoint layout",
           lmf::sdk::component<Rtn>("rtn",
                                    "round-to-nearest, 2/3/4/8 bits, per group or per channel, "
                                    "symmetric or asymmetric; GPTQ checkpoint layout",
                                    kConfigSchema))
