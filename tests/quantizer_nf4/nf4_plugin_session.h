// The nf4 plugin as the host drives it, for the tests: an instance made through the
// registry, its vtable calls returning code and message, layers released on scope exit,
// and a layer's tensors exported as a checkpoint writer would copy them.
#pragma once

#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "tests/conformance/quantizer/host_tensor.h"
#include "tests/support/recording_services.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace lmf::quant::nf4::testing {

using conformance::HostTensor;
using nlohmann::json;

// What a vtable call returned.
struct Outcome {
  lmf_status_code code = LMF_OK;
  std::string message;
  bool ok() const { return code == LMF_OK; }
};

inline Outcome take(lmf_status_t* status) {
  if (status == nullptr) return {};
  const lmf_host_api* api = plugin::host_api();
  Outcome outcome{api->status_code(status), api->status_message(status)};
  api->status_release(status);
  return outcome;
}

// A layer's tensors copied out (names and CPU copies), ready to hand to import_layer.
struct ExportedTensors {
  std::vector<std::string> names;
  std::vector<HostTensor> tensors;

  HostTensor& at(const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return tensors[i];
    throw std::out_of_range("no exported tensor " + name);
  }
  void add(std::string name, HostTensor tensor) {
    names.push_back(std::move(name));
    tensors.push_back(std::move(tensor));
  }
  void remove(const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) {
        names.erase(names.begin() + static_cast<std::ptrdiff_t>(i));
        tensors.erase(tensors.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
  }
  std::vector<lmf_named_tensor> named() const {
    std::vector<lmf_named_tensor> out;
    for (size_t i = 0; i < names.size(); ++i)
      out.push_back({{names[i].data(), names[i].size()}, tensors[i].managed()});
    return out;
  }
};

class Nf4Session {
 public:
  explicit Nf4Session(json config = json::object()) {
    registry_.load_file(LMF_NF4_PLUGIN);
    ref_ = registry_.require(LMF_KIND_QUANTIZER, "nf4");
    const auto issues = config::validate(json::parse(ref_.schema()), config);
    if (!issues.empty()) throw std::invalid_argument("config refused: " + issues[0].message);
    instance_ = std::make_unique<plugin::ComponentInstance>(ref_, config);
    vtable_ = &instance_->vtable<lmf_quantizer_vtable>(LMF_KIND_QUANTIZER);
  }
  ~Nf4Session() {
    for (lmf_quantized_layer* layer : layers_) vtable_->release_layer(instance_->get(), layer);
  }
  Nf4Session(const Nf4Session&) = delete;
  Nf4Session& operator=(const Nf4Session&) = delete;

  const plugin::ComponentRef& ref() const { return ref_; }

  json capabilities() {
    lmf_string text{nullptr, 0};
    const Outcome outcome = take(vtable_->capabilities(instance_->get(), &text));
    if (!outcome.ok()) throw std::runtime_error(outcome.message);
    json caps = json::parse(text.data, text.data + text.size);
    plugin::host_api()->free(text.data);
    return caps;
  }

  // Quantizes `values` [rows, cols]; *layer is null on failure.
  Outcome quantize(const std::string& name, int64_t rows, int64_t cols,
                   const std::vector<float>& values, const lmf_quantized_layer** layer) {
    HostTensor weight = conformance::float_tensor({rows, cols}, values);
    lmf_quantized_layer* made = nullptr;
    const Outcome outcome =
        take(vtable_->quantize(instance_->get(), {name.data(), name.size()}, &weight.dl(), &made));
    keep(made, layer);
    return outcome;
  }

  Outcome import(const ExportedTensors& tensors, const json& format,
                 const lmf_quantized_layer** layer) {
    const std::vector<lmf_named_tensor> named = tensors.named();
    const std::string text = format.dump();
    lmf_quantized_layer* made = nullptr;
    const Outcome outcome = take(vtable_->import_layer(instance_->get(), named.data(), named.size(),
                                                       {text.data(), text.size()}, &made));
    keep(made, layer);
    return outcome;
  }

  std::vector<float> dequantize(const lmf_quantized_layer* layer) {
    HostTensor out(conformance::float32_type(), {layer->out_features, layer->in_features});
    const Outcome outcome = take(vtable_->dequantize(instance_->get(), layer, &out.dl(), nullptr));
    if (!outcome.ok()) throw std::runtime_error("dequantize: " + outcome.message);
    return std::vector<float>(out.data<float>(), out.data<float>() + out.numel());
  }

  std::vector<float> matmul(const lmf_quantized_layer* layer, const std::vector<float>& x,
                            int64_t tokens) {
    HostTensor in = conformance::float_tensor({tokens, layer->in_features}, x);
    HostTensor out(conformance::float32_type(), {tokens, layer->out_features});
    const Outcome outcome =
        take(vtable_->matmul(instance_->get(), layer, &in.dl(), &out.dl(), nullptr));
    if (!outcome.ok()) throw std::runtime_error("matmul: " + outcome.message);
    return std::vector<float>(out.data<float>(), out.data<float>() + out.numel());
  }

 private:
  void keep(lmf_quantized_layer* made, const lmf_quantized_layer** layer) {
    if (made != nullptr) layers_.push_back(made);
    *layer = made;
  }

  lmf::testing::RecordingServices services_;
  plugin::PluginRegistry registry_{services_};
  plugin::ComponentRef ref_;
  std::unique_ptr<plugin::ComponentInstance> instance_;
  const lmf_quantizer_vtable* vtable_ = nullptr;
  std::vector<lmf_quantized_layer*> layers_;
};

inline json format_of(const lmf_quantized_layer& layer) {
  return json::parse(std::string(layer.format_json.data, layer.format_json.size));
}

// The layer's tensor called `name`, or nullptr.
inline const DLTensor* layer_tensor(const lmf_quantized_layer& layer, const std::string& name) {
  for (size_t i = 0; i < layer.tensor_count; ++i)
    if (std::string(layer.tensors[i].name.data, layer.tensors[i].name.size) == name)
      return &layer.tensors[i].tensor->dl_tensor;
  return nullptr;
}

inline ExportedTensors export_tensors(const lmf_quantized_layer& layer) {
  ExportedTensors out;
  for (size_t i = 0; i < layer.tensor_count; ++i) {
    const DLTensor& t = layer.tensors[i].tensor->dl_tensor;
    HostTensor copy(t.dtype, std::vector<int64_t>(t.shape, t.shape + t.ndim));
    std::memcpy(copy.data<char>(), static_cast<const char*>(t.data) + t.byte_offset, copy.bytes());
    out.add(std::string(layer.tensors[i].name.data, layer.tensors[i].name.size), std::move(copy));
  }
  return out;
}

}  // namespace lmf::quant::nf4::testing
