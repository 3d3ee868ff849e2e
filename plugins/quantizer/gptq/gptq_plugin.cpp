// The gptq quantizer (docs/quantization.md, "gptq"): GPTQ (gptq_solver.h) behind the
// quantizer ABI. `observe` accumulates each layer's Hessian from its calibration inputs;
// `quantize` runs GPTQ on it and packs the result in the GPTQ checkpoint layout that rtn
// shares (plugins/quantizer/common), whose CPU and CUDA kernels serve dequantize and matmul.
#include "gptq_solver.h"
#include "hessian_accumulator.h"

#include "plugins/quantizer/common/borrowed_tensor.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "plugins/quantizer/common/gptq_sdk_layer.h"
#include "plugins/quantizer/common/layer_tensors.h"

#include <lmf/sdk/quantizer.h>

#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using lmf::quant::gptq::GptqOptions;
using lmf::quant::gptq::GptqResult;
using lmf::quant::gptq::HessianAccumulator;
using lmf::sdk::fail;
using lmf::sdk::Json;
using lmf::sdk::QuantizedLayer;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "bits": {"type": "integer", "enum": [2, 3, 4, 8], "default": 4,
             "description": "Bits per weight."},
    "group_size": {"type": "integer", "anyOf": [{"const": -1}, {"minimum": 1}], "default": 128,
                   "description": "Input columns sharing a scale and zero; must divide in_features. -1: one per output row."},
    "sym": {"type": "boolean", "default": true,
            "description": "Symmetric grids (zero fixed at 2^(bits-1)); false: a zero per group."},
    "desc_act": {"type": "boolean", "default": false,
                 "description": "Act-order: quantize columns in decreasing order of their input's mean square (diag H)."},
    "static_groups": {"type": "boolean", "default": false,
                      "description": "Fit every group's grid before GPTQ's updates, on consecutive columns (with desc_act: keeps g_idx sequential)."},
    "damp_percent": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.01,
                     "description": "Dampening added to diag H, as a fraction of its mean."},
    "block_size": {"type": "integer", "minimum": 1, "default": 128,
                   "description": "Columns per lazy batch update (speed only)."}
  }
})";

GptqOptions read_options(const Json& config) {
  GptqOptions o;
  o.bits = config.value("bits", o.bits);
  o.group_size = config.value("group_size", o.group_size);
  o.sym = config.value("sym", o.sym);
  o.desc_act = config.value("desc_act", o.desc_act);
  o.static_groups = config.value("static_groups", o.static_groups);
  o.damp_percent = config.value("damp_percent", o.damp_percent);
  o.block_size = config.value("block_size", o.block_size);
  lmf::quant::gptq::validate(o);  // the host validated the config; this guards direct callers
  return o;
}

std::string quoted(std::string_view layer) {
  return "layer \"" + std::string(layer) + "\"";
}

class Gptq final : public lmf::sdk::Quantizer {
 public:
  explicit Gptq(const Json& config) : options_(read_options(config)) {}

  Json capabilities() override {
    return {{"formats", {"gptq"}},
            {"bits", {2, 3, 4, 8}},
            {"group_sizes", lmf::quant::advertised_group_sizes(options_.group_size)},
            {"symmetric", {true, false}},
            {"needs_calibration", true},
            {"devices", lmf::quant::gptq_layer_devices()},
            {"ops", {"dequantize", "matmul", "import_layer"}},
            {"matmul_tokens", lmf::quant::gptq_layer_matmul_tokens()}};
  }

  void observe(std::string_view layer, const DLTensor& inputs) override {
    const std::string name(layer);
    auto found = hessians_.find(name);
    const bool fresh = found == hessians_.end();
    if (fresh) found = hessians_.emplace(name, HessianAccumulator(name)).first;
    try {
      found->second.add(
          lmf::quant::borrow_tensor(inputs, "calibration inputs of " + quoted(layer)));
    } catch (...) {
      if (fresh) hessians_.erase(found);
      throw;
    }
  }

  std::unique_ptr<QuantizedLayer> quantize(std::string_view layer,
                                           const DLTensor& weight) override {
    const std::string name = quoted(layer);
    const torch::Tensor w = lmf::quant::borrow_tensor(weight, "weight of " + name);
    if (w.dim() != 2)
      fail(LMF_ERR_INVALID_ARGUMENT, "weight of " + name + ": expected [out_features, " +
                                         "in_features], got " + std::to_string(w.dim()) +
                                         " dimensions");
    auto found = hessians_.find(layer);
    if (found == hessians_.end() || found->second.empty())
      fail(LMF_ERR_INVALID_ARGUMENT, name + ": no calibration inputs: call observe first");
    expect_packable(name, w.size(0), w.size(1));
    const HessianAccumulator& hessian = found->second;
    if (hessian.rows() < w.size(1))
      lmf::sdk::log_warning(
          "gptq: " + name + " has " + std::to_string(hessian.rows()) + " calibration rows for " +
          std::to_string(w.size(1)) +
          " input features: its Hessian is singular and only dampening keeps GPTQ stable; "
          "give observe at least in_features rows (AutoGPTQ's usual 128 x 2048 tokens)");

    const GptqResult result =
        lmf::quant::gptq::gptq_quantize(w, hessian.hessian(), options_, layer);
    if (result.damp_percent != options_.damp_percent)
      lmf::sdk::log_warning("gptq: " + name + ": the Hessian was not positive definite with " +
                            "damp_percent " + std::to_string(options_.damp_percent) +
                            "; quantized with " + std::to_string(result.damp_percent));
    lmf::sdk::log_info("gptq: " + name + ": loss " + std::to_string(result.loss) + " (" +
                       std::to_string(result.dead_columns) + " dead inputs)");

    std::unique_ptr<QuantizedLayer> made;
    try {
      made = lmf::quant::make_gptq_layer(result.codes, {{"method", "gptq"},
                                                        {"static_groups", options_.static_groups},
                                                        {"damp_percent", options_.damp_percent}});
    } catch (const std::invalid_argument& e) {
      fail(LMF_ERR_INVALID_ARGUMENT, name + ": " + e.what());
    }
    hessians_.erase(found);  // the statistics are used up, as AutoGPTQ frees H
    return made;
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
  // Refuses, before the solver runs, a shape the GPTQ layout cannot hold. A group_size of
  // at least in_features is one group, as the layout reads it.
  void expect_packable(const std::string& name, int64_t out, int64_t in) const {
    if (options_.group_size > 0 && options_.group_size < in && in % options_.group_size != 0)
      fail(LMF_ERR_INVALID_ARGUMENT, name + ": group_size " + std::to_string(options_.group_size) +
                                         " does not divide in_features " + std::to_string(in) +
                                         " (choose a divisor of it, or -1)");
    const int64_t multiple = lmf::quant::gptq_pack_multiple(options_.bits);
    if (in % multiple != 0 || out % multiple != 0)
      fail(LMF_ERR_INVALID_ARGUMENT,
           name + ": the GPTQ layout packs " + std::to_string(options_.bits) +
               "-bit values in runs of " + std::to_string(multiple) +
               ", so in_features and out_features must be multiples of it; the weight is [" +
               std::to_string(out) + ", " + std::to_string(in) + "]");
  }

  GptqOptions options_;
  std::map<std::string, HessianAccumulator, std::less<>> hessians_;
};

}  // namespace

LMF_PLUGIN("lmforge-quantizer-gptq", "0.1.0", "lmforge",
           "GPTQ quantization (Frantar et al. 2022) in the AutoGPTQ checkpoint layout",
           lmf::sdk::component<Gptq>(
               "gptq",
               "GPTQ: Hessian-aware rounding from calibration inputs, 2/3/4/8 bits, groups, "
               "act-order",
               kConfigSchema))
