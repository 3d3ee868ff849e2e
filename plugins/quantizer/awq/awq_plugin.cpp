// The awq quantizer (docs/quantization.md, "awq"): AWQ (lmf_awq_search) behind the
// quantizer ABI. `observe` keeps each layer's calibration inputs; `search_input_scales`
// runs the scale search for linears sharing an input and returns the scales the backend
// folds into the model (Note [AWQ scale folding], docs/quantization.md); `quantize` runs
// the clipping search on the (scaled) weight and inputs and packs AutoAWQ's GEMM layout,
// whose CPU kernels (awq_sdk_layer.h) serve dequantize and matmul.
#include "awq_checks.h"
#include "awq_clip_search.h"
#include "awq_grid.h"
#include "awq_layer_inputs.h"
#include "awq_options.h"
#include "awq_scale_search.h"
#include "awq_sdk_layer.h"

#include "plugins/quantizer/common/borrowed_tensor.h"
#include "plugins/quantizer/common/layer_tensors.h"

#include <lmf/sdk/quantizer.h>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using lmf::quant::awq::AwqOptions;
using lmf::quant::awq::layer_label;
using lmf::sdk::fail;
using lmf::sdk::Json;
using lmf::sdk::QuantizedLayer;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "bits": {"type": "integer", "enum": [4], "default": 4,
             "description": "Bits per weight: 4, the only width AutoAWQ's GEMM layout stores."},
    "group_size": {"type": "integer", "anyOf": [{"const": -1}, {"minimum": 1}], "default": 128,
                   "description": "Input columns sharing a scale and zero; must divide in_features (a layer with fewer input columns gets one group). -1: one per output row."},
    "zero_point": {"type": "boolean", "default": true,
                   "description": "Asymmetric grids w = (q - z) * scale; the GEMM layout stores only these."},
    "scale_grid": {"type": "integer", "minimum": 1, "default": 20,
                   "description": "Scale search: ratios k / scale_grid, k = 0 .. scale_grid - 1."},
    "duo_scaling": {"type": "boolean", "default": true,
                    "description": "s = mean|x|^r / mean|w|^(1-r); false: s = mean|x|^r."},
    "max_shrink": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.5,
                   "description": "Clip search: thresholds down to (1 - max_shrink) of max|w|."},
    "clip_grid": {"type": "integer", "minimum": 1, "default": 20,
                  "description": "Clip search: thresholds max|w| * (1 - k / clip_grid)."},
    "clip_tokens": {"type": "integer", "minimum": 1, "default": 512,
                    "description": "Clip search: about this many calibration tokens."},
    "min_tokens": {"type": "integer", "minimum": 1, "default": 32,
                   "description": "Fewer calibration tokens per layer are refused."},
    "token_chunk": {"type": "integer", "minimum": 1, "default": 4096,
                    "description": "Scale search: tokens per matmul (memory only)."}
  }
})";

AwqOptions read_options(const Json& config) {
  AwqOptions o;
  o.bits = config.value("bits", o.bits);
  o.group_size = config.value("group_size", o.group_size);
  o.zero_point = config.value("zero_point", o.zero_point);
  o.scale_grid = config.value("scale_grid", o.scale_grid);
  o.duo_scaling = config.value("duo_scaling", o.duo_scaling);
  o.max_shrink = config.value("max_shrink", o.max_shrink);
  o.clip_grid = config.value("clip_grid", o.clip_grid);
  o.clip_tokens = config.value("clip_tokens", o.clip_tokens);
  o.min_tokens = config.value("min_tokens", o.min_tokens);
  o.token_chunk = config.value("token_chunk", o.token_chunk);
  // The host validated the config against the schema; this guards direct callers.
  lmf::quant::awq::validate(o, "(awq config)");
  if (!o.zero_point)
    fail(LMF_ERR_INVALID_ARGUMENT,
         "awq: zero_point false: AutoAWQ's GEMM layout stores only grids with a zero point");
  return o;
}

std::string joined(std::span<const std::string_view> names) {
  std::string text;
  for (std::string_view name : names) text += (text.empty() ? "" : " + ") + std::string(name);
  return text;
}

class Awq final : public lmf::sdk::Quantizer {
 public:
  explicit Awq(const Json& config) : options_(read_options(config)) {}

  Json capabilities() override {
    return {{"formats", {"awq"}},
            {"bits", {4}},
            {"group_sizes", lmf::quant::advertised_group_sizes(options_.group_size)},
            {"symmetric", {false}},
            {"needs_calibration", true},
            {"devices", {"cpu"}},
            {"ops", {"dequantize", "matmul", "import_layer", "search_input_scales"}}};
  }

  void observe(std::string_view layer, const DLTensor& inputs) override {
    inputs_.add(layer, lmf::quant::borrow_tensor(
                           inputs, "calibration inputs of " + layer_label(layer)));
  }

  lmf::sdk::ManagedTensor search_input_scales(std::span<const std::string_view> layers,
                                              std::span<const DLTensor* const> weights) override {
    const std::string group = joined(layers);
    const torch::Tensor x = inputs_.raw(layers.front());
    std::vector<torch::Tensor> w;
    for (size_t i = 0; i < layers.size(); ++i) {
      // Each layer read the same input: the first one's inputs stand for all (AutoAWQ's
      // input_feat of the group's first linear); the others must at least match in size.
      if (i > 0 && !inputs_.raw(layers[i]).sizes().equals(x.sizes()))
        fail(LMF_ERR_INVALID_ARGUMENT,
             layer_label(layers[i]) + ": its calibration inputs differ in size from those of " +
                 layer_label(layers.front()) +
                 ", but search_input_scales needs layers that read the same input");
      w.push_back(
          lmf::quant::borrow_tensor(*weights[i], "weight of " + layer_label(layers[i])));
    }
    const AwqOptions options = for_layer(x.size(1));
    const lmf::quant::awq::ScaleSearchResult found =
        lmf::quant::awq::search_scales(x, w, options, group);
    lmf::sdk::log_info("awq: " + layer_label(group) + ": scale ratio " +
                       std::to_string(found.best_ratio) + ", loss " +
                       std::to_string(found.losses[static_cast<size_t>(found.best_index)]) +
                       " (ratio 0: " + std::to_string(found.losses.front()) + ")");
    const torch::Tensor scales = found.scales.to(torch::kCPU, torch::kFloat32).contiguous();
    lmf::sdk::ManagedTensor out = lmf::sdk::make_cpu_tensor({kDLFloat, 32, 1}, {scales.size(0)});
    std::memcpy(lmf::sdk::TensorView(out.tensor(), "").data<float>(), scales.data_ptr<float>(),
                static_cast<size_t>(scales.numel()) * sizeof(float));
    for (std::string_view layer : layers) inputs_.set_scales(layer, scales);
    return out;
  }

  std::unique_ptr<QuantizedLayer> quantize(std::string_view layer,
                                           const DLTensor& weight) override {
    const torch::Tensor w =
        lmf::quant::borrow_tensor(weight, "weight of " + layer_label(layer));
    lmf::quant::awq::expect_matrix(w, layer, "weight");
    const torch::Tensor x = inputs_.scaled(layer);
    if (x.size(1) != w.size(1))
      fail(LMF_ERR_INVALID_ARGUMENT, layer_label(layer) + ": weight has in_features " +
                                         std::to_string(w.size(1)) + ", its calibration inputs " +
                                         std::to_string(x.size(1)));
    const AwqOptions options = for_layer(w.size(1));
    lmf::quant::awq::validate(options, layer, w.size(1));
    lmf::quant::awq::expect_enough_tokens(x, options, layer);
    // Note [AWQ clip search]: on the weight as it will be stored (already W·s when the
    // caller folded scales) and the inputs it will see (x / s).
    const lmf::quant::awq::ClipSearchResult clip =
        lmf::quant::awq::search_clip(w, x, options, layer, lmf::quant::awq::avoids_clipping(layer));
    const lmf::quant::awq::AwqQuantized quantized = lmf::quant::awq::quantize_groups(
        clip.weight, options, lmf::quant::awq::GridRule::kCheckpoint, layer);
    std::unique_ptr<QuantizedLayer> made = lmf::quant::awq::make_awq_layer(
        lmf::quant::awq::to_quantized_codes(quantized, options, layer), {{"method", "awq"}}, layer);
    inputs_.erase(layer);  // the inputs are used up
    return made;
  }

  std::unique_ptr<QuantizedLayer> import_layer(std::span<const lmf_named_tensor> tensors,
                                               const Json& format) override {
    return lmf::quant::awq::import_awq_layer(tensors, format);
  }

  void dequantize(const QuantizedLayer& layer, DLTensor& weight, void* /*stream*/) override {
    lmf::quant::awq::dequantize_awq_layer(layer, weight);
  }

  void matmul(const QuantizedLayer& layer, const DLTensor& x, DLTensor& y,
              void* /*stream*/) override {
    lmf::quant::awq::matmul_awq_layer(layer, x, y);
  }

 private:
  // The options for a layer of `in` input columns: one group when it has fewer columns
  // than group_size (as rtn and gptq do), so that small layers still quantize.
  AwqOptions for_layer(int64_t in) const {
    AwqOptions options = options_;
    if (options.group_size > in) options.group_size = -1;
    return options;
  }

  AwqOptions options_;
  lmf::quant::awq::LayerInputs inputs_;
};

}  // namespace

LMF_PLUGIN("lmforge-quantizer-awq", "0.1.0", "lmforge",
           "AWQ quantization (Lin et al. 2023) in AutoAWQ's GEMM checkpoint layout",
           lmf::sdk::component<Awq>(
               "awq",
               "AWQ: activation-aware per-channel scales (folded into the model by the backend) "
               "and clipping from calibration inputs, 4 bits, groups, AutoAWQ's GEMM layout",
               kConfigSchema))
