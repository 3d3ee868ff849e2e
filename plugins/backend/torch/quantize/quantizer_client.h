// A quantizer plugin's component as the torch backend drives it, through the C ABI
// (lmf_quantizer.h): libtorch tensors in, quantized layers out.
#pragma once

#include <lmf/lmf_quantizer.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace lmf::torch_backend {

class QuantizerClient;

// A layer the plugin quantized or imported; released through the plugin when destroyed.
class QuantizedLayer {
 public:
  QuantizedLayer(const QuantizerClient* owner, lmf_quantized_layer* layer) : owner_(owner), layer_(layer) {}
  QuantizedLayer(QuantizedLayer&& other) noexcept : owner_(other.owner_), layer_(std::exchange(other.layer_, nullptr)) {}
  QuantizedLayer(const QuantizedLayer&) = delete;
  QuantizedLayer& operator=(const QuantizedLayer&) = delete;
  QuantizedLayer& operator=(QuantizedLayer&&) = delete;
  ~QuantizedLayer();

  const lmf_quantized_layer& raw() const { return *layer_; }
  // The layout (format_json), e.g. {"format":"gptq","bits":4,"group_size":128,...}.
  nlohmann::json format() const;
  // Copies of the packed tensors ("qweight", "scales", ...), on the CPU.
  std::vector<std::pair<std::string, torch::Tensor>> tensors() const;

 private:
  const QuantizerClient* owner_;
  lmf_quantized_layer* layer_;
};

class QuantizerClient {
 public:
  // Finds `component` among the host's loaded quantizers and makes an instance with
  // `config` (validated by the host against the component's schema beforehand).
  QuantizerClient(const std::string& component, const nlohmann::json& config);
  QuantizerClient(const QuantizerClient&) = delete;
  QuantizerClient& operator=(const QuantizerClient&) = delete;
  ~QuantizerClient();

  const std::string& name() const { return name_; }
  const nlohmann::json& capabilities() const { return capabilities_; }
  bool needs_calibration() const { return capabilities_.value("needs_calibration", false); }
  bool supports(const std::string& op) const;

  // Whether the quantizer chooses input scales for the backend to fold (its vtable has
  // search_input_scales, since ABI 1.1, and its capabilities list the op): Note [AWQ
  // scale folding] in docs/quantization.md.
  bool folds_input_scales() const;

  // inputs [tokens, in_features]: what `layer` sees on calibration samples. Here and in
  // quantize and search_input_scales the tensors are lent in float32 on their device when
  // the quantizer runs there, else on the CPU (Note [Calibration on the device]).
  void observe(const std::string& layer, const torch::Tensor& inputs) const;
  // The scales s [in] (float32, CPU) for `layers`, which read the same input and were
  // observed on it, with `weights` their weights as they are now.
  torch::Tensor search_input_scales(const std::vector<std::string>& layers,
                                    const std::vector<torch::Tensor>& weights) const;
  QuantizedLayer quantize(const std::string& layer, const torch::Tensor& weight) const;
  QuantizedLayer import_layer(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                              const nlohmann::json& format) const;
  // The layer's weight [out, in] as float32 on the CPU.
  torch::Tensor dequantize(const QuantizedLayer& layer) const;

  // Whether the capabilities' "devices" list `device`'s kind ("cpu" when absent).
  bool runs_on(const torch::Device& device) const;
  // The layer's weight into `weight` [out, in] (contiguous; the CPU or a device the
  // quantizer runs on, in a dtype it takes there), on the device's current stream.
  void dequantize_into(const QuantizedLayer& layer, torch::Tensor& weight) const;
  // y = x·Wᵀ, x [tokens, in] and y [tokens, out] contiguous on one device, on its current
  // stream (Note [Packed weights]).
  void matmul(const QuantizedLayer& layer, const torch::Tensor& x, torch::Tensor& y) const;

 private:
  friend class QuantizedLayer;
  torch::Tensor lendable(const torch::Tensor& tensor) const;
  std::string name_;
  const lmf_component* component_ = nullptr;
  const lmf_quantizer_vtable* vtable_ = nullptr;
  lmf_instance_t* instance_ = nullptr;
  nlohmann::json capabilities_;
};

}  // namespace lmf::torch_backend
