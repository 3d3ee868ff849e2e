// The nf4 quantizer: QLoRA's 4-bit NormalFloat (Dettmers et al. 2023) with the values,
// packing and double quantization of bitsandbytes' quantize_4bit(quant_type="nf4"), in the
// layout transformers saves (Note [NF4 checkpoint layout]; docs/quantization.md, "nf4").
#include "plugins/quantizer/nf4/nf4_blocks.h"
#include "plugins/quantizer/nf4/nf4_cuda_ops.h"
#include "plugins/quantizer/nf4/nf4_kernels.h"
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"
#include "plugins/quantizer/nf4/nf4_layer.h"
#include "plugins/quantizer/nf4/nf4_layout.h"

#include <lmf/sdk/quantizer.h>

#include <cmath>
#include <initializer_list>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using lmf::quant::nf4::Nf4Format;
using lmf::quant::nf4::Nf4Layer;
using lmf::sdk::dtype_of;
using lmf::sdk::fail;
using lmf::sdk::Json;
using lmf::sdk::QuantizedLayer;
using lmf::sdk::TensorView;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "block_size": {
      "type": "integer",
      "enum": [32, 64, 128, 256, 512, 1024, 2048, 4096],
      "default": 64,
      "description": "Consecutive weights of the flattened [out, in] weight that share one absmax (bitsandbytes' blocksize)."
    },
    "double_quant": {
      "type": "boolean",
      "default": true,
      "description": "Quantize the block absmax values to 8 bits in blocks of 256 (bitsandbytes' compress_statistics, QLoRA's double quantization)."
    },
    "quant_storage": {
      "type": "string",
      "enum": ["uint8"],
      "default": "uint8",
      "description": "The dtype the packed codes are stored in (bitsandbytes' quant_storage)."
    }
  }
})";

std::string shape_text(const DLTensor& tensor) {
  std::string text = "[";
  for (int i = 0; i < tensor.ndim; ++i) text += (i ? ", " : "") + std::to_string(tensor.shape[i]);
  return text + "]";
}

// A float32 CPU tensor of exactly `shape`; else LMF_ERR_INVALID_ARGUMENT naming it.
TensorView expect_float_tensor(const DLTensor& tensor, const std::string& name,
                               std::initializer_list<int64_t> shape) {
  TensorView view(tensor, name);
  view.expect_cpu(dtype_of<float>(), static_cast<int>(shape.size()));
  for (int i = 0; i < tensor.ndim; ++i)
    if (tensor.shape[i] != shape.begin()[i]) {
      std::string expected = "[";
      for (int64_t extent : shape)
        expected += (expected.size() > 1 ? ", " : "") + std::to_string(extent);
      fail(LMF_ERR_INVALID_ARGUMENT,
           name + ": expected shape " + expected + "], got " + shape_text(tensor));
    }
  return view;
}

const Nf4Layer& own_layer(const QuantizedLayer& layer) {
  const auto* nf4 = dynamic_cast<const Nf4Layer*>(&layer);
  if (nf4 == nullptr) fail(LMF_ERR_INVALID_ARGUMENT, "the layer was not made by the nf4 quantizer");
  return *nf4;
}

class Nf4Quantizer final : public lmf::sdk::Quantizer {
 public:
  explicit Nf4Quantizer(const Json& config)
      : block_size_(config.value("block_size", int64_t{64})),
        double_quant_(config.value("double_quant", true)) {
    // The host validated the config already; this guards direct callers.
    if (!lmf::quant::nf4::is_nf4_block_size(block_size_))
      fail(LMF_ERR_INVALID_ARGUMENT, "block_size " + std::to_string(block_size_) +
                                         " is not one bitsandbytes' NF4 has (" +
                                         lmf::quant::nf4::nf4_block_sizes_text() + ")");
    if (config.value("quant_storage", std::string("uint8")) != "uint8")
      fail(LMF_ERR_INVALID_ARGUMENT, "quant_storage: only \"uint8\" is supported");
  }

  Json capabilities() override {
    Json caps = {{"formats", {"nf4"}},
                 {"bits", {4}},
                 {"group_sizes", {block_size_}},
                 {"symmetric", {true}},
                 {"needs_calibration", false},
                 {"devices", lmf::quant::nf4::nf4_devices()},
                 {"ops", {"dequantize", "matmul", "import_layer"}}};
    // Beyond this many tokens a backend had better dequantize once and run a dense matmul.
    if (lmf::quant::nf4::nf4_cuda_kernels_compiled())
      caps["matmul_tokens"] = lmf::quant::nf4::kNf4MatvecMaxTokens;
    return caps;
  }

  std::unique_ptr<QuantizedLayer> quantize(std::string_view layer,
                                           const DLTensor& weight) override {
    const std::string name = "weight of layer \"" + std::string(layer) + "\"";
    TensorView w(weight, name);
    w.expect_cpu(dtype_of<float>(), 2);
    const Nf4Format format{w.dim(0), w.dim(1), block_size_, double_quant_};
    if (format.elements() == 0 || format.elements() % block_size_ != 0)
      fail(LMF_ERR_INVALID_ARGUMENT,
           name + " " + shape_text(weight) + " has " + std::to_string(format.elements()) +
               " elements, not a positive multiple of block_size " + std::to_string(block_size_) +
               " (NF4 quantizes the flattened weight in whole blocks)");
    const std::span<const float> values(w.data<float>(), static_cast<size_t>(format.elements()));
    if (const int64_t bad = lmf::quant::nf4::first_non_finite(values); bad >= 0)
      fail(LMF_ERR_INVALID_ARGUMENT,
           name + ": element [" + std::to_string(bad / format.in_features) + ", " +
               std::to_string(bad % format.in_features) + "] is " +
               (std::isnan(values[static_cast<size_t>(bad)]) ? "NaN" : "infinite"));
    return Nf4Layer::quantize(values, format);
  }

  std::unique_ptr<QuantizedLayer> import_layer(std::span<const lmf_named_tensor> tensors,
                                               const Json& format) override {
    try {
      return Nf4Layer::import(tensors, format);
    } catch (const std::invalid_argument& e) {
      fail(LMF_ERR_INVALID_ARGUMENT, std::string("import_layer: ") + e.what());
    }
  }

  void dequantize(const QuantizedLayer& layer, DLTensor& weight, void* stream) override {
    const Nf4Layer& nf4 = own_layer(layer);
    if (lmf::quant::nf4::on_cuda(weight))
      return lmf::quant::nf4::dequantize_on_cuda(nf4, weight, stream);
    TensorView w = expect_float_tensor(weight, "dequantize: weight",
                                       {layer.out_features(), layer.in_features()});
    lmf::quant::nf4::nf4_dequantize(nf4.view(), w.data<float>());
  }

  void matmul(const QuantizedLayer& layer, const DLTensor& x, DLTensor& y, void* stream) override {
    const Nf4Layer& nf4 = own_layer(layer);
    if (lmf::quant::nf4::on_cuda(x) || lmf::quant::nf4::on_cuda(y))
      return lmf::quant::nf4::matmul_on_cuda(nf4, x, y, stream);
    TensorView in(x, "matmul: x");
    in.expect_cpu(dtype_of<float>(), 2);
    const int64_t tokens = in.dim(0);
    expect_float_tensor(x, "matmul: x [tokens, in_features]", {tokens, layer.in_features()});
    TensorView out =
        expect_float_tensor(y, "matmul: y [tokens, out_features]", {tokens, layer.out_features()});
    lmf::quant::nf4::nf4_matmul(nf4.view(), in.data<float>(), tokens, out.data<float>());
  }

 private:
  int64_t block_size_;
  bool double_quant_;
};

}  // namespace

LMF_PLUGIN("lmforge-quantizer-nf4", "0.1.0", "lmforge",
           "QLoRA's 4-bit NormalFloat with double quantization, bit for bit bitsandbytes'",
           lmf::sdk::component<Nf4Quantizer>(
               "nf4", "4-bit NormalFloat (NF4) in blocks, absmax double-quantized to 8 bits",
               kConfigSchema))
