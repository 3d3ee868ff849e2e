// lmforge SDK — the quantizer kind.
#pragma once

#include <lmf/sdk/component.h>
#include <lmf/sdk/tensor.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::sdk {

// A packed layer: named tensors plus its layout. The C view handed to the host points
// into this object (Note [Quantized layer identity]).
class QuantizedLayer {
 public:
  QuantizedLayer(int64_t out_features, int64_t in_features, Json format)
      : out_features_(out_features), in_features_(in_features), format_(std::move(format)) {
    box_.owner = this;
  }
  virtual ~QuantizedLayer() = default;
  QuantizedLayer(const QuantizedLayer&) = delete;
  QuantizedLayer& operator=(const QuantizedLayer&) = delete;

  int64_t out_features() const { return out_features_; }
  int64_t in_features() const { return in_features_; }
  const Json& format() const { return format_; }

  void add_tensor(std::string name, ManagedTensor tensor) {
    names_.push_back(std::move(name));
    tensors_.push_back(std::move(tensor));
  }
  // The tensor called `name`; LMF_ERR_NOT_FOUND if the layer has none.
  TensorView tensor(std::string_view name) const {
    for (size_t i = 0; i < names_.size(); ++i)
      if (names_[i] == name) return TensorView(tensors_[i].tensor(), names_[i]);
    fail(LMF_ERR_NOT_FOUND, "quantized layer has no tensor \"" + std::string(name) + "\"");
  }

  // Note [Quantized layer identity]
  // The host receives &box_.c; box_ is standard-layout with the C struct first, so the
  // pointer converts back to the box, and the box names its owner.
  const lmf_quantized_layer* c_layer() {
    c_tensors_.clear();
    for (size_t i = 0; i < names_.size(); ++i)
      c_tensors_.push_back({to_view(names_[i]), tensors_[i].get()});
    format_text_ = format_.dump();
    box_.c =
        lmf_quantized_layer{sizeof(lmf_quantized_layer), out_features_,     in_features_,
                            c_tensors_.size(),           c_tensors_.data(), to_view(format_text_)};
    return &box_.c;
  }
  static QuantizedLayer& from_c(const lmf_quantized_layer* layer) {
    return *reinterpret_cast<const Box*>(layer)->owner;
  }

 private:
  struct Box {
    lmf_quantized_layer c;
    QuantizedLayer* owner;
  };
  static_assert(std::is_standard_layout_v<Box>);

  int64_t out_features_, in_features_;
  Json format_;
  std::vector<std::string> names_;
  std::vector<ManagedTensor> tensors_;
  std::vector<lmf_named_tensor> c_tensors_;
  std::string format_text_;
  Box box_{};
};

class Quantizer : public Component {
 public:
  using base_type = Quantizer;

  // See lmf_quantizer_vtable::capabilities for the fields; the conformance suite checks
  // every claim made here.
  virtual Json capabilities() = 0;
  virtual void observe(std::string_view layer, const DLTensor& inputs) {
    (void)layer, (void)inputs;
    unsupported("calibration (observe)");
  }
  virtual std::unique_ptr<QuantizedLayer> quantize(std::string_view layer,
                                                   const DLTensor& weight) = 0;
  virtual std::unique_ptr<QuantizedLayer> import_layer(std::span<const lmf_named_tensor> tensors,
                                                       const Json& format) {
    (void)tensors, (void)format;
    unsupported("import_layer");
  }
  virtual void dequantize(const QuantizedLayer& layer, DLTensor& weight, void* stream) = 0;
  virtual void matmul(const QuantizedLayer& layer, const DLTensor& x, DLTensor& y,
                      void* stream) = 0;
  // lmf_quantizer_vtable::search_input_scales (since 1.1): the scales s [in] to fold into
  // the input shared by `layers` (weights[i] their weights), as a float32 [in] tensor made
  // with make_cpu_tensor. List "search_input_scales" in the capabilities' ops when
  // overriding it.
  virtual ManagedTensor search_input_scales(std::span<const std::string_view> layers,
                                            std::span<const DLTensor* const> weights) {
    (void)layers, (void)weights;
    unsupported("search_input_scales");
  }
};

template <>
struct KindTraits<Quantizer> {
  static constexpr lmf_kind kind = LMF_KIND_QUANTIZER;
  using Q = Quantizer;
  static Q* self(lmf_instance_t* instance) { return detail::self<Q>(instance); }

  static lmf_status_t* capabilities(lmf_instance_t* q, lmf_string* out) noexcept {
    return guard([&] { *out = to_owned_string(self(q)->capabilities().dump()); });
  }
  static lmf_status_t* observe(lmf_instance_t* q, lmf_str_view layer,
                               const DLTensor* inputs) noexcept {
    return guard([&] { self(q)->observe(from_view(layer), *inputs); });
  }
  static lmf_status_t* quantize(lmf_instance_t* q, lmf_str_view layer, const DLTensor* weight,
                                lmf_quantized_layer** out) noexcept {
    return guard([&] {
      std::unique_ptr<QuantizedLayer> made = self(q)->quantize(from_view(layer), *weight);
      if (!made) fail(LMF_ERR_INTERNAL, "the quantizer returned no layer");
      *out = const_cast<lmf_quantized_layer*>(made->c_layer());
      made.release();
    });
  }
  static lmf_status_t* import_layer(lmf_instance_t* q, const lmf_named_tensor* tensors,
                                    size_t count, lmf_str_view format_json,
                                    lmf_quantized_layer** out) noexcept {
    return guard([&] {
      std::unique_ptr<QuantizedLayer> made = self(q)->import_layer(
          std::span<const lmf_named_tensor>(tensors, count), detail::parse_config(format_json));
      if (!made) fail(LMF_ERR_INTERNAL, "the quantizer returned no layer");
      *out = const_cast<lmf_quantized_layer*>(made->c_layer());
      made.release();
    });
  }
  static lmf_status_t* dequantize(lmf_instance_t* q, const lmf_quantized_layer* layer,
                                  DLTensor* weight, void* stream) noexcept {
    return guard([&] { self(q)->dequantize(QuantizedLayer::from_c(layer), *weight, stream); });
  }
  static lmf_status_t* matmul(lmf_instance_t* q, const lmf_quantized_layer* layer,
                              const DLTensor* x, DLTensor* y, void* stream) noexcept {
    return guard([&] { self(q)->matmul(QuantizedLayer::from_c(layer), *x, *y, stream); });
  }
  static void release_layer(lmf_instance_t*, lmf_quantized_layer* layer) noexcept {
    if (layer != nullptr) delete &QuantizedLayer::from_c(layer);
  }
  static lmf_status_t* search_input_scales(lmf_instance_t* q, const lmf_str_view* layers,
                                           const DLTensor* const* weights, size_t count,
                                           DLManagedTensor** scales) noexcept {
    return guard([&] {
      if (count == 0 || layers == nullptr || weights == nullptr)
        fail(LMF_ERR_INVALID_ARGUMENT, "search_input_scales: no layers given");
      std::vector<std::string_view> names;
      for (size_t i = 0; i < count; ++i) {
        if (weights[i] == nullptr)
          fail(LMF_ERR_INVALID_ARGUMENT,
               "search_input_scales: weights[" + std::to_string(i) + "] is NULL");
        names.push_back(from_view(layers[i]));
      }
      ManagedTensor made =
          self(q)->search_input_scales(names, std::span<const DLTensor* const>(weights, count));
      if (!made) fail(LMF_ERR_INTERNAL, "the quantizer returned no scales");
      *scales = made.release();
    });
  }

  static constexpr lmf_quantizer_vtable vtable{sizeof(lmf_quantizer_vtable),
                                               &capabilities,
                                               &observe,
                                               &quantize,
                                               &import_layer,
                                               &dequantize,
                                               &matmul,
                                               &release_layer,
                                               &search_input_scales};
};

}  // namespace lmf::sdk
