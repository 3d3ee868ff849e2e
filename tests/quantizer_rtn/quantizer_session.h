// A quantizer plugin as the host drives it: loaded from its .so, an instance made from a
// validated config, every op through the C vtable with host-made tensors. RtnSession is
// the rtn plugin's.
#pragma once

#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "tests/conformance/quantizer/host_tensor.h"
#include "tests/support/recording_services.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace lmf::quant::testing {

using conformance::HostTensor;

// What a call returned: empty `message` and ok on success.
struct Outcome {
  bool ok = true;
  lmf_status_code code = LMF_OK;
  std::string message;
};

inline Outcome take(lmf_status_t* status) {
  if (status == nullptr) return {};
  const lmf_host_api* api = plugin::host_api();
  Outcome outcome{false, api->status_code(status), api->status_message(status)};
  api->status_release(status);
  return outcome;
}

inline lmf_str_view view_of(const std::string& text) {
  return {text.data(), text.size()};
}

class QuantizerSession {
 public:
  QuantizerSession(const std::string& plugin_file, const std::string& component,
                   nlohmann::json config) {
    registry_.load_file(plugin_file);
    ref_ = registry_.require(LMF_KIND_QUANTIZER, component);
    const auto issues = config::validate(nlohmann::json::parse(ref_.schema()), config);
    EXPECT_TRUE(issues.empty()) << config.dump() << ": " << issues.front().message;
    instance_ = std::make_unique<plugin::ComponentInstance>(ref_, config);
    vtable_ = &instance_->vtable<lmf_quantizer_vtable>(LMF_KIND_QUANTIZER);
  }
  ~QuantizerSession() {
    for (lmf_quantized_layer* layer : layers_) vtable_->release_layer(instance_->get(), layer);
  }
  QuantizerSession(const QuantizerSession&) = delete;
  QuantizerSession& operator=(const QuantizerSession&) = delete;

  const plugin::ComponentRef& ref() const { return ref_; }

  nlohmann::json capabilities() {
    lmf_string text{nullptr, 0};
    EXPECT_TRUE(take(vtable_->capabilities(instance_->get(), &text)).ok);
    nlohmann::json caps = nlohmann::json::parse(text.data, text.data + text.size);
    plugin::host_api()->free(text.data);
    return caps;
  }

  // quantize of `values` [rows, cols] as layer `name`; *layer stays NULL on failure.
  Outcome quantize(const std::string& name, int64_t rows, int64_t cols,
                   const std::vector<float>& values, const lmf_quantized_layer** layer) {
    HostTensor weight = conformance::float_tensor({rows, cols}, values);
    lmf_quantized_layer* made = nullptr;
    Outcome outcome = take(vtable_->quantize(instance_->get(), view_of(name), &weight.dl(), &made));
    keep(made);
    *layer = made;
    return outcome;
  }

  Outcome import_layer(const std::vector<lmf_named_tensor>& tensors, const std::string& format,
                       const lmf_quantized_layer** layer) {
    lmf_quantized_layer* made = nullptr;
    Outcome outcome = take(vtable_->import_layer(instance_->get(), tensors.data(), tensors.size(),
                                                 view_of(format), &made));
    keep(made);
    *layer = made;
    return outcome;
  }

  std::vector<float> dequantize(const lmf_quantized_layer* layer) {
    HostTensor weight(conformance::float32_type(), {layer->out_features, layer->in_features});
    const Outcome outcome =
        take(vtable_->dequantize(instance_->get(), layer, &weight.dl(), nullptr));
    EXPECT_TRUE(outcome.ok) << outcome.message;
    const float* data = weight.data<float>();
    return std::vector<float>(data, data + weight.numel());
  }

  std::vector<float> matmul(const lmf_quantized_layer* layer, const std::vector<float>& x,
                            int64_t tokens) {
    HostTensor in = conformance::float_tensor({tokens, layer->in_features}, x);
    HostTensor out(conformance::float32_type(), {tokens, layer->out_features});
    const Outcome outcome =
        take(vtable_->matmul(instance_->get(), layer, &in.dl(), &out.dl(), nullptr));
    EXPECT_TRUE(outcome.ok) << outcome.message;
    const float* data = out.data<float>();
    return std::vector<float>(data, data + out.numel());
  }

 private:
  void keep(lmf_quantized_layer* layer) {
    if (layer != nullptr) layers_.push_back(layer);
  }

  lmf::testing::RecordingServices services_;
  plugin::PluginRegistry registry_{services_};
  plugin::ComponentRef ref_;
  std::unique_ptr<plugin::ComponentInstance> instance_;
  const lmf_quantizer_vtable* vtable_ = nullptr;
  std::vector<lmf_quantized_layer*> layers_;
};

class RtnSession : public QuantizerSession {
 public:
  explicit RtnSession(nlohmann::json config = nlohmann::json::object())
      : QuantizerSession(LMF_RTN_PLUGIN, "rtn", std::move(config)) {}
};

// The layer tensor called `name` (NULL if none).
inline const DLTensor* layer_tensor(const lmf_quantized_layer& layer, const std::string& name) {
  for (size_t i = 0; i < layer.tensor_count; ++i)
    if (std::string(layer.tensors[i].name.data, layer.tensors[i].name.size) == name)
      return &layer.tensors[i].tensor->dl_tensor;
  return nullptr;
}

inline std::string format_of(const lmf_quantized_layer& layer) {
  return std::string(layer.format_json.data, layer.format_json.size);
}

}  // namespace lmf::quant::testing
