#include "plugins/quantizer/nf4/nf4_layer.h"

#include "plugins/quantizer/nf4/nf4_blocks.h"
#include "plugins/quantizer/nf4/nf4_codebook.h"
#include "plugins/quantizer/nf4/nf4_device_layer.h"

#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

namespace lmf::quant::nf4 {
namespace {

using lmf::sdk::dtype_of;
using lmf::sdk::make_cpu_tensor;

// What each tensor of a layout is: dtype and shape (Note [NF4 checkpoint layout]).
struct TensorSpec {
  DLDataType dtype;
  std::vector<int64_t> shape;
};

std::map<std::string, TensorSpec> tensor_specs(const Nf4Format& format) {
  std::map<std::string, TensorSpec> specs = {
      {kWeight, {dtype_of<uint8_t>(), {format.elements() / 2, 1}}},
      {kAbsmax, {format.double_quant ? dtype_of<uint8_t>() : dtype_of<float>(), {format.blocks()}}},
      {kQuantMap, {dtype_of<float>(), {16}}}};
  if (format.double_quant) {
    specs[kNestedAbsmax] = {dtype_of<float>(), {format.nested_blocks()}};
    specs[kNestedQuantMap] = {dtype_of<float>(), {256}};
    specs[kNestedOffset] = {dtype_of<float>(), {1}};
  }
  return specs;
}

std::string shape_text(std::span<const int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Whether `shape` is `expected`, or a form bitsandbytes' tensors also come in: "weight"
// flattened to [n / 2], "nested_offset" as a 0-dim scalar.
bool shape_accepted(const std::string& name, std::span<const int64_t> shape,
                    const std::vector<int64_t>& expected) {
  if (std::equal(shape.begin(), shape.end(), expected.begin(), expected.end())) return true;
  const bool flat_weight = name == kWeight && shape.size() == 1 && shape[0] == expected[0];
  const bool scalar_offset = name == kNestedOffset && shape.empty();
  return flat_weight || scalar_offset;
}

[[noreturn]] void refuse(const std::string& tensor, const std::string& problem) {
  throw std::invalid_argument("tensor \"" + tensor + "\" " + problem);
}

// The tensor of `tensors` called `name`, checked against `spec`.
const DLTensor& checked_tensor(const std::map<std::string, const DLTensor*>& tensors,
                               const std::string& name, const TensorSpec& spec) {
  const auto found = tensors.find(name);
  if (found == tensors.end()) refuse(name, "is missing (the layout's format_json needs it)");
  const DLTensor& t = *found->second;
  lmf::sdk::TensorView view(t, name);
  if (!view.on_cpu()) refuse(name, "is not on the CPU");
  if (!lmf::sdk::operator==(t.dtype, spec.dtype))
    refuse(name, "has dtype " + lmf::sdk::dtype_name(t.dtype) + ", expected " +
                     lmf::sdk::dtype_name(spec.dtype));
  const std::span<const int64_t> shape(t.shape, static_cast<size_t>(t.ndim));
  if (!shape_accepted(name, shape, spec.shape))
    refuse(name, "has shape " + shape_text(shape) + ", expected " + shape_text(spec.shape));
  if (!view.contiguous()) refuse(name, "is not contiguous");
  return t;
}

}  // namespace

Nf4Layer::Nf4Layer(const Nf4Format& format)
    : QuantizedLayer(format.out_features, format.in_features, format_json(format)),
      format_(format) {
  for (const auto& [name, spec] : tensor_specs(format))
    add_tensor(name, make_cpu_tensor(spec.dtype, spec.shape));
  std::memcpy(tensor(kQuantMap).data<float>(), kNf4Levels.data(), sizeof(kNf4Levels));
}

std::unique_ptr<Nf4Layer> Nf4Layer::quantize(std::span<const float> w, const Nf4Format& format) {
  std::unique_ptr<Nf4Layer> layer(new Nf4Layer(format));
  if (!format.double_quant) {
    quantize_blocks(w, format.block_size, layer->tensor(kWeight).data<uint8_t>(),
                    layer->tensor(kAbsmax).data<float>());
  } else {
    std::vector<float> absmax(static_cast<size_t>(format.blocks()));
    quantize_blocks(w, format.block_size, layer->tensor(kWeight).data<uint8_t>(), absmax.data());
    const DoubleQuantized nested = double_quantize(absmax);
    std::memcpy(layer->tensor(kAbsmax).data<uint8_t>(), nested.codes.data(), nested.codes.size());
    std::memcpy(layer->tensor(kNestedAbsmax).data<float>(), nested.nested_absmax.data(),
                nested.nested_absmax.size() * sizeof(float));
    std::memcpy(layer->tensor(kNestedQuantMap).data<float>(), dynamic_map().data(),
                sizeof(float) * 256);
    *layer->tensor(kNestedOffset).data<float>() = nested.offset;
  }
  layer->decode_block_absmax();
  return layer;
}

std::unique_ptr<Nf4Layer> Nf4Layer::import(std::span<const lmf_named_tensor> tensors,
                                           const nlohmann::json& format_json) {
  const Nf4Format format = parse_format_json(format_json);
  const std::map<std::string, TensorSpec> specs = tensor_specs(format);
  std::map<std::string, const DLTensor*> given;
  for (const lmf_named_tensor& named : tensors) {
    const std::string name(lmf::sdk::from_view(named.name));
    if (!specs.contains(name))
      refuse(name, "is not part of an NF4 layer with double_quant " +
                       std::string(format.double_quant ? "true" : "false") + " (expected " +
                       format_json.value("tensors", nlohmann::json::array()).dump() + ")");
    if (named.tensor == nullptr) refuse(name, "is NULL");
    if (!given.emplace(name, &named.tensor->dl_tensor).second) refuse(name, "is given twice");
  }

  std::unique_ptr<Nf4Layer> layer(new Nf4Layer(format));
  for (const auto& [name, spec] : specs) {
    const DLTensor& source = checked_tensor(given, name, spec);
    lmf::sdk::TensorView from(source, name);
    lmf::sdk::TensorView to = layer->tensor(name);
    std::memcpy(to.data<char>(), from.data<char>(),
                static_cast<size_t>(to.numel()) * (spec.dtype.bits / 8));
  }
  const float* levels = layer->tensor(kQuantMap).data<float>();
  for (size_t i = 0; i < kNf4Levels.size(); ++i)
    if (std::memcmp(&levels[i], &kNf4Levels[i], sizeof(float)) != 0)
      refuse(kQuantMap, "entry " + std::to_string(i) + " is " + std::to_string(levels[i]) +
                            ", not bitsandbytes' NF4 level " + std::to_string(kNf4Levels[i]) +
                            " (only the NF4 quant_type is read here)");
  layer->decode_block_absmax();
  return layer;
}

void Nf4Layer::decode_block_absmax() {
  block_absmax_.resize(static_cast<size_t>(format_.blocks()));
  if (!format_.double_quant) {
    std::memcpy(block_absmax_.data(), tensor(kAbsmax).data<float>(),
                block_absmax_.size() * sizeof(float));
    return;
  }
  double_dequantize(std::span<const uint8_t>(tensor(kAbsmax).data<uint8_t>(), block_absmax_.size()),
                    std::span<const float>(tensor(kNestedAbsmax).data<float>(),
                                           static_cast<size_t>(format_.nested_blocks())),
                    format_.nested_block_size, *tensor(kNestedOffset).data<float>(),
                    tensor(kNestedQuantMap).data<float>(), block_absmax_.data());
}

Nf4View Nf4Layer::view() const {
  return Nf4View{format_.out_features, format_.in_features, format_.block_size,
                 tensor(kWeight).data<uint8_t>(), block_absmax_.data()};
}

Nf4Layer::~Nf4Layer() = default;

Nf4StoredView Nf4Layer::stored_view() const {
  Nf4StoredView view;
  view.out_features = format_.out_features;
  view.in_features = format_.in_features;
  view.block_size = format_.block_size;
  view.packed = tensor(kWeight).data<uint8_t>();
  view.double_quant = format_.double_quant;
  if (!format_.double_quant) {
    view.absmax = tensor(kAbsmax).data<float>();
    return view;
  }
  view.absmax_codes = tensor(kAbsmax).data<uint8_t>();
  view.nested_absmax = tensor(kNestedAbsmax).data<float>();
  view.nested_map = tensor(kNestedQuantMap).data<float>();
  view.nested_offset = *tensor(kNestedOffset).data<float>();
  view.nested_block_size = format_.nested_block_size;
  return view;
}

const Nf4DeviceLayer& Nf4Layer::on_device(int device, void* stream) const {
  std::lock_guard<std::mutex> lock(devices_mutex_);
  std::unique_ptr<Nf4DeviceLayer>& copy = devices_[device];
  if (!copy) copy = std::make_unique<Nf4DeviceLayer>(stored_view(), device, stream);
  return *copy;
}

}  // namespace lmf::quant::nf4
