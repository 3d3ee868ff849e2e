#include "quantize/quantizer_client.h"

#include "torch_compat.h"

#include <lmf/sdk/host.h>

#include <algorithm>
#include <memory>

namespace lmf::torch_backend {
namespace {

DLDataType dl_dtype(torch::ScalarType type, const std::string& where) {
  switch (type) {
    case torch::kFloat32: return {kDLFloat, 32, 1};
    case torch::kFloat16: return {kDLFloat, 16, 1};
    case torch::kBFloat16: return {kDLBfloat, 16, 1};
    case torch::kInt32: return {kDLInt, 32, 1};
    case torch::kInt64: return {kDLInt, 64, 1};
    case torch::kInt8: return {kDLInt, 8, 1};
    case torch::kUInt8: return {kDLUInt, 8, 1};
    default: sdk::fail(LMF_ERR_INVALID_ARGUMENT, where + ": no DLPack dtype for " + std::string(c10::toString(type)));
  }
}

torch::ScalarType torch_dtype(DLDataType type, const std::string& where) {
  if (type.lanes == 1) {
    if (type.code == kDLFloat && type.bits == 32) return torch::kFloat32;
    if (type.code == kDLFloat && type.bits == 16) return torch::kFloat16;
    if (type.code == kDLBfloat && type.bits == 16) return torch::kBFloat16;
    if (type.code == kDLInt && type.bits == 32) return torch::kInt32;
    if (type.code == kDLInt && type.bits == 64) return torch::kInt64;
    if (type.code == kDLInt && type.bits == 8) return torch::kInt8;
    if (type.code == kDLUInt && type.bits == 8) return torch::kUInt8;
  }
  sdk::fail(LMF_ERR_DATA, where + ": a dtype torch does not have (code " + std::to_string(type.code) + ", " +
                              std::to_string(type.bits) + " bits)");
}

// A borrowed DLTensor over a contiguous CPU or CUDA tensor; `shape` must outlive the use.
DLTensor borrow(const torch::Tensor& tensor, std::vector<int64_t>& shape, const std::string& where) {
  shape = tensor.sizes().vec();
  DLTensor view{};
  view.data = tensor.data_ptr();
  view.device = tensor.is_cuda() ? DLDevice{kDLCUDA, static_cast<int32_t>(tensor.get_device())} : DLDevice{kDLCPU, 0};
  view.ndim = static_cast<int32_t>(shape.size());
  view.dtype = dl_dtype(tensor.scalar_type(), where);
  view.shape = shape.data();
  view.strides = nullptr;  // compact row-major
  view.byte_offset = 0;
  return view;
}

torch::Tensor copy_of(const DLTensor& tensor, const std::string& where) {
  if (tensor.device.device_type != kDLCPU)
    sdk::fail(LMF_ERR_UNSUPPORTED, where + ": only CPU tensors are read back from quantizers yet");
  std::vector<int64_t> shape(tensor.shape, tensor.shape + tensor.ndim);
  auto* data = static_cast<char*>(tensor.data) + tensor.byte_offset;
  const auto options = torch::TensorOptions().dtype(torch_dtype(tensor.dtype, where));
  if (tensor.strides == nullptr) return torch::from_blob(data, shape, options).clone();
  std::vector<int64_t> strides(tensor.strides, tensor.strides + tensor.ndim);
  return torch::from_blob(data, shape, strides, options).clone();
}

std::string text(lmf_str_view view) { return std::string(view.data, view.size); }

}  // namespace

QuantizerClient::QuantizerClient(const std::string& component, const nlohmann::json& config) : name_(component) {
  component_ = &sdk::find_component(LMF_KIND_QUANTIZER, component);
  vtable_ = static_cast<const lmf_quantizer_vtable*>(component_->vtable);
  const std::string config_text = config.dump();
  sdk::check(component_->create(sdk::host_handle(), sdk::to_view(config_text), &instance_));
  lmf_string out{};
  sdk::check(vtable_->capabilities(instance_, &out));
  capabilities_ = nlohmann::json::parse(std::string(out.data, out.size));
  sdk::api().free(out.data);
}

QuantizerClient::~QuantizerClient() {
  if (instance_ != nullptr) component_->destroy(instance_);
}

bool QuantizerClient::supports(const std::string& op) const {
  const nlohmann::json ops = capabilities_.value("ops", nlohmann::json::array());
  return std::find(ops.begin(), ops.end(), op) != ops.end();
}

bool QuantizerClient::folds_input_scales() const {
  return LMF_HAS_MEMBER(vtable_, lmf_quantizer_vtable, search_input_scales) &&
         vtable_->search_input_scales != nullptr && supports("search_input_scales");
}

torch::Tensor QuantizerClient::search_input_scales(const std::vector<std::string>& layers,
                                                   const std::vector<torch::Tensor>& weights) const {
  if (!folds_input_scales())
    sdk::fail(LMF_ERR_UNSUPPORTED, "quantizer " + name_ + " does not choose input scales");
  std::vector<torch::Tensor> lent;
  std::vector<std::vector<int64_t>> shapes(weights.size());
  std::vector<DLTensor> views;
  std::vector<const DLTensor*> pointers;
  std::vector<lmf_str_view> names;
  for (size_t i = 0; i < weights.size(); ++i) {
    lent.push_back(lendable(weights[i]));
    views.push_back(borrow(lent.back(), shapes[i], layers[i]));
    names.push_back(sdk::to_view(layers[i]));
  }
  for (const DLTensor& view : views) pointers.push_back(&view);
  DLManagedTensor* out = nullptr;
  sdk::check(vtable_->search_input_scales(instance_, names.data(), pointers.data(), pointers.size(), &out));
  if (out == nullptr) sdk::fail(LMF_ERR_INTERNAL, "quantizer " + name_ + ": search_input_scales returned no tensor");
  std::unique_ptr<DLManagedTensor, void (*)(DLManagedTensor*)> owned(out, [](DLManagedTensor* t) {
    if (t->deleter != nullptr) t->deleter(t);
  });
  const std::string where = "quantizer " + name_ + ": search_input_scales for " + layers.front();
  torch::Tensor scales = copy_of(out->dl_tensor, where);
  const int64_t in = weights.front().size(1);
  if (scales.scalar_type() != torch::kFloat32 || scales.dim() != 1 || scales.size(0) != in)
    sdk::fail(LMF_ERR_DATA, where + ": expected float32 scales [" + std::to_string(in) + "], got " +
                                std::string(c10::toString(scales.scalar_type())) + " of " +
                                std::to_string(scales.numel()) + " elements");
  if (!(torch::isfinite(scales).all().item<bool>() && (scales > 0).all().item<bool>()))
    sdk::fail(LMF_ERR_DATA, where + ": a scale is not finite and positive, which no fold can absorb");
  return scales;
}

// Note [Calibration on the device]: a calibrating quantizer whose capabilities list the
// tensors' device (gptq in a CUDA build) is lent them there in float32 — its Hessians and
// solves run on the GPU, where the calibration forward passes left the inputs; any other
// gets float32 copies on the CPU (rtn's "cuda" is for its kernels: it quantizes on the CPU).
torch::Tensor QuantizerClient::lendable(const torch::Tensor& tensor) const {
  const bool on_device = needs_calibration() && runs_on(tensor.device());
  const torch::Device device = on_device ? tensor.device() : torch::Device(torch::kCPU);
  return tensor.to(device, torch::kFloat32).contiguous();
}

void QuantizerClient::observe(const std::string& layer, const torch::Tensor& inputs) const {
  if (vtable_->observe == nullptr) return;
  const torch::Tensor lent = lendable(inputs);
  std::vector<int64_t> shape;
  const DLTensor view = borrow(lent, shape, layer);
  sdk::check(vtable_->observe(instance_, sdk::to_view(layer), &view));
}

QuantizedLayer QuantizerClient::quantize(const std::string& layer, const torch::Tensor& weight) const {
  const torch::Tensor lent = lendable(weight);
  std::vector<int64_t> shape;
  const DLTensor view = borrow(lent, shape, layer);
  lmf_quantized_layer* out = nullptr;
  sdk::check(vtable_->quantize(instance_, sdk::to_view(layer), &view, &out));
  return QuantizedLayer(this, out);
}

QuantizedLayer QuantizerClient::import_layer(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                             const nlohmann::json& format) const {
  if (vtable_->import_layer == nullptr || !supports("import_layer"))
    sdk::fail(LMF_ERR_UNSUPPORTED, "quantizer " + name_ + " cannot import layers");
  std::vector<torch::Tensor> contiguous;
  std::vector<std::vector<int64_t>> shapes(tensors.size());
  std::vector<DLManagedTensor> managed(tensors.size());
  std::vector<lmf_named_tensor> named;
  contiguous.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    contiguous.push_back(tensors[i].second.to(torch::kCPU).contiguous());
    managed[i] = DLManagedTensor{borrow(contiguous.back(), shapes[i], tensors[i].first), nullptr, nullptr};
    named.push_back({sdk::to_view(tensors[i].first), &managed[i]});
  }
  const std::string format_text = format.dump();
  lmf_quantized_layer* out = nullptr;
  sdk::check(vtable_->import_layer(instance_, named.data(), named.size(), sdk::to_view(format_text), &out));
  return QuantizedLayer(this, out);
}

torch::Tensor QuantizerClient::dequantize(const QuantizedLayer& layer) const {
  torch::Tensor weight = torch::empty({layer.raw().out_features, layer.raw().in_features}, torch::kFloat32);
  std::vector<int64_t> shape;
  DLTensor view = borrow(weight, shape, "dequantize");
  sdk::check(vtable_->dequantize(instance_, &layer.raw(), &view, nullptr));
  return weight;
}

bool QuantizerClient::runs_on(const torch::Device& device) const {
  const nlohmann::json devices = capabilities_.value("devices", nlohmann::json::array({"cpu"}));
  return std::find(devices.begin(), devices.end(), device.is_cuda() ? "cuda" : "cpu") != devices.end();
}

void QuantizerClient::dequantize_into(const QuantizedLayer& layer, torch::Tensor& weight) const {
  std::vector<int64_t> shape;
  DLTensor view = borrow(weight, shape, "dequantize");
  sdk::check(vtable_->dequantize(instance_, &layer.raw(), &view, weight.is_cuda() ? compat::cuda_stream(weight.device()) : nullptr));
}

void QuantizerClient::matmul(const QuantizedLayer& layer, const torch::Tensor& x, torch::Tensor& y) const {
  std::vector<int64_t> x_shape, y_shape;
  const DLTensor x_view = borrow(x, x_shape, "matmul: x");
  DLTensor y_view = borrow(y, y_shape, "matmul: y");
  sdk::check(vtable_->matmul(instance_, &layer.raw(), &x_view, &y_view, x.is_cuda() ? compat::cuda_stream(x.device()) : nullptr));
}

QuantizedLayer::~QuantizedLayer() {
  if (layer_ != nullptr) owner_->vtable_->release_layer(owner_->instance_, layer_);
}

nlohmann::json QuantizedLayer::format() const { return nlohmann::json::parse(text(layer_->format_json)); }

std::vector<std::pair<std::string, torch::Tensor>> QuantizedLayer::tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < layer_->tensor_count; ++i) {
    const std::string name = text(layer_->tensors[i].name);
    out.emplace_back(name, copy_of(layer_->tensors[i].tensor->dl_tensor, "quantized tensor " + name));
  }
  return out;
}

}  // namespace lmf::torch_backend
