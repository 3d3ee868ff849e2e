// A quantizer plugin as the host sees it, for the plugins' own tests: loaded from its .so,
// created from a schema-checked config, and driven through the C vtable with torch tensors
// (observe, quantize, import_layer, dequantize). Layers it made are released on teardown.
#pragma once

#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "tests/support/recording_services.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lmf::testing {

// A DLTensor over a contiguous torch tensor (borrowed), on the CPU or a CUDA device:
// float32, float16, bfloat16, int32 or uint8.
struct DlView {
  explicit DlView(const torch::Tensor& t) : tensor(t.contiguous()), shape(tensor.sizes().vec()) {
    dl.data = tensor.data_ptr();
    dl.device = tensor.is_cuda() ? DLDevice{kDLCUDA, static_cast<int32_t>(tensor.device().index())}
                                 : DLDevice{kDLCPU, 0};
    dl.ndim = static_cast<int32_t>(shape.size());
    switch (tensor.scalar_type()) {
      case torch::kFloat32:
        dl.dtype = {kDLFloat, 32, 1};
        break;
      case torch::kFloat16:
        dl.dtype = {kDLFloat, 16, 1};
        break;
      case torch::kBFloat16:
        dl.dtype = {kDLBfloat, 16, 1};
        break;
      case torch::kInt32:
        dl.dtype = {kDLInt, 32, 1};
        break;
      case torch::kUInt8:
        dl.dtype = {kDLUInt, 8, 1};
        break;
      default:
        ADD_FAILURE() << "DlView: unexpected dtype " << tensor.scalar_type();
    }
    dl.shape = shape.data();
  }
  torch::Tensor tensor;
  std::vector<int64_t> shape;
  DLTensor dl{};
};

// The status's message ("" for success), the status released.
inline std::string message_of(lmf_status_t* status) {
  if (status == nullptr) return "";
  std::string text = plugin::host_api()->status_message(status);
  plugin::host_api()->status_release(status);
  return text.empty() ? "(an error with no message)" : text;
}

class QuantizerPluginTest : public ::testing::Test {
 protected:
  // Loads the plugin at `path` and finds its quantizer `name`.
  void load(const char* path, const char* name) {
    registry_.load_file(path);
    ref_ = registry_.require(LMF_KIND_QUANTIZER, name);
  }

  void TearDown() override { release_made(); }

  void create(nlohmann::json config = nlohmann::json::object()) {
    const auto issues = config::validate(nlohmann::json::parse(ref_.schema()), config);
    ASSERT_TRUE(issues.empty()) << config.dump();
    release_made();
    config_ = config;
    instance_ = std::make_unique<plugin::ComponentInstance>(ref_, config);
    vtable_ = &instance_->vtable<lmf_quantizer_vtable>(LMF_KIND_QUANTIZER);
  }

  std::string observe(const std::string& layer, const torch::Tensor& inputs) {
    DlView view(inputs);
    return message_of(vtable_->observe(instance_->get(), {layer.data(), layer.size()}, &view.dl));
  }

  // Quantizes; on success `*out` holds the layer (released by the fixture).
  std::string quantize(const std::string& layer, const torch::Tensor& weight,
                       lmf_quantized_layer** out) {
    DlView view(weight);
    *out = nullptr;
    std::string error = message_of(
        vtable_->quantize(instance_->get(), {layer.data(), layer.size()}, &view.dl, out));
    if (*out != nullptr) made_.push_back(*out);
    return error;
  }

  // Imports; on success `*out` holds the layer (released by the fixture).
  std::string import(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                     const nlohmann::json& format, lmf_quantized_layer** out) {
    std::vector<DlView> views;
    for (const auto& named : tensors) views.emplace_back(named.second);
    std::vector<DLManagedTensor> managed(views.size());
    std::vector<lmf_named_tensor> named;
    for (size_t i = 0; i < views.size(); ++i) {
      managed[i] = DLManagedTensor{views[i].dl, nullptr, nullptr};
      named.push_back({{tensors[i].first.data(), tensors[i].first.size()}, &managed[i]});
    }
    const std::string text = format.dump();
    *out = nullptr;
    std::string error = message_of(vtable_->import_layer(
        instance_->get(), named.data(), named.size(), {text.data(), text.size()}, out));
    if (*out != nullptr) made_.push_back(*out);
    return error;
  }

  // The layer's weight as dequantize writes it, float32 [out, in].
  torch::Tensor dequantize_layer(const lmf_quantized_layer* layer) {
    torch::Tensor w = torch::empty({layer->out_features, layer->in_features});
    DlView view(w);
    EXPECT_EQ(message_of(vtable_->dequantize(instance_->get(), layer, &view.dl, nullptr)), "");
    return view.tensor;
  }

  // A copy of the layer's tensor `name` (float16 or int32).
  static torch::Tensor tensor_of(const lmf_quantized_layer* layer, const std::string& name) {
    for (size_t i = 0; i < layer->tensor_count; ++i)
      if (std::string(layer->tensors[i].name.data, layer->tensors[i].name.size) == name) {
        const DLTensor& t = layer->tensors[i].tensor->dl_tensor;
        const auto type = t.dtype.code == kDLFloat ? torch::kFloat16 : torch::kInt32;
        return torch::from_blob(t.data, std::vector<int64_t>(t.shape, t.shape + t.ndim), type)
            .clone();
      }
    ADD_FAILURE() << "the layer has no tensor " << name;
    return {};
  }

  RecordingServices services_;
  plugin::PluginRegistry registry_{services_};
  plugin::ComponentRef ref_;
  nlohmann::json config_;
  std::unique_ptr<plugin::ComponentInstance> instance_;
  const lmf_quantizer_vtable* vtable_ = nullptr;
  std::vector<lmf_quantized_layer*> made_;

 private:
  void release_made() {
    for (lmf_quantized_layer* layer : made_) vtable_->release_layer(instance_->get(), layer);
    made_.clear();
  }
};

}  // namespace lmf::testing
