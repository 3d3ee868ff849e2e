// LoRA adapters on the decoder's projections (docs/training.md, "LoRA adapters"), saved
// and loaded in Hugging Face PEFT's format, and merged into the base weights on request.
#pragma once

#include "loaded_model.h"
#include "tensor_io.h"
#include "training/lora_settings.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lmf::torch_backend {

// Note [LoRA]
// A targeted projection computes W·x + b + scaling · B·A·dropout(x), with A [rank, in] and
// B [out, rank] trainable and W, b frozen, as PEFT's lora.Linear: x is cast to the
// adapter's dtype (fp32 by default, also under a bf16 base), the term is added in that
// dtype and the sum cast back to the base's. Dropout acts only while training. Merging
// adds scaling · B·A to W in W's dtype, which then computes the same without the adapter.

// One projection's low-rank term (Note [LoRA]).
class LoraAdapter : public LinearAdapter {
 public:
  // `in_input_dtype`: Note [LoRA in the activations' dtype].
  LoraAdapter(torch::Tensor a, torch::Tensor b, double scaling, double dropout, bool in_input_dtype = false)
      : a_(std::move(a)), b_(std::move(b)), scaling_(scaling), dropout_(dropout), in_input_dtype_(in_input_dtype) {}

  torch::Tensor operator()(const torch::Tensor& x) const override;
  torch::ScalarType input_dtype(const torch::Tensor& x) const override {
    return in_input_dtype_ ? x.scalar_type() : a_.scalar_type();
  }
  // scaling · B·A [out, in], in the adapter's dtype: what merging adds to W.
  torch::Tensor delta_weight() const;

  const torch::Tensor& a() const { return a_; }  // [rank, in]
  const torch::Tensor& b() const { return b_; }  // [out, rank]
  void set_training(bool training) { training_ = training; }

 private:
  torch::Tensor a_, b_;
  double scaling_, dropout_;
  bool in_input_dtype_;
  bool training_ = false;
};

// The adapters of one model. The decoder shares them: they stay attached until merge()
// or detach(), whether or not this object lives on. `model` must outlive this object.
class LoraAdapters {
 public:
  // Attaches new adapters to the projections `settings` targets (Note [LoRA target
  // modules]; a target that names no projection is refused): A as PEFT initialises it
  // (kaiming_uniform_ with a = √5, i.e. uniform in ±1/√in) from a CPU generator seeded
  // with `seed`, so that a seed gives the same A on any device; B zero, so that the model
  // computes what it did. Adapters are `dtype`, on the decoder's device, and require grad;
  // the model's own weights are left as loaded, without grad (frozen).
  LoraAdapters(LoadedModel& model, LoraSettings settings, uint64_t seed,
               torch::ScalarType dtype = torch::kFloat32);

  // Attaches the adapter of a PEFT folder (adapter_config.json and
  // adapter_model.safetensors). Refuses, naming the file and the field or tensor, a
  // configuration PEFT would compute differently (Note [PEFT fields refused]), a missing
  // tensor, an unexpected one, or a shape the model contradicts; the model is then
  // unchanged.
  static LoraAdapters load_peft(LoadedModel& model, const std::string& folder,
                                torch::ScalarType dtype = torch::kFloat32);

  LoraAdapters(LoraAdapters&&) = default;
  LoraAdapters(const LoraAdapters&) = delete;
  LoraAdapters& operator=(const LoraAdapters&) = delete;

  const LoraSettings& settings() const { return settings_; }
  // The trainable tensors by PEFT's saved names ("base_model.model.model.layers.0.
  // self_attn.q_proj.lora_A.weight"), module by module in layer order, A before B. Empty
  // once merged or detached.
  NamedTensors parameters() const;
  // Turns the adapters' dropout on (training) or off.
  void set_training(bool training);

  // Writes a folder PEFT's PeftModel.from_pretrained loads (Note [Saving atomically]):
  // adapter_config.json and adapter_model.safetensors (in the adapters' dtype, as PEFT).
  void save_peft(const std::string& folder, const std::string& base_model_name_or_path) const;

  // Adds scaling · B·A to each adapted projection's weight, in the weight's dtype, and
  // removes the adapters: the model's weights (what save_model writes) are then a plain
  // full checkpoint. A weight still mapped from its read-only file is replaced by a new
  // tensor; any other is updated in place, so that fused q/k/v and gate/up matrices,
  // whose parts are row views (Note [Fused projections]), follow.
  void merge();
  // Removes the adapters: the model computes what it did before they were attached.
  void detach();

 private:
  struct Attached {
    std::string module;
    Linear* linear;
    std::shared_ptr<LoraAdapter> adapter;
  };
  LoraAdapters(LoadedModel& model, LoraSettings settings)
      : model_(&model), settings_(std::move(settings)) {}
  // The targeted projections; throws naming the targets that match none, after `where`.
  std::vector<std::pair<std::string, Linear*>> targets(const std::string& where) const;
  // Attaches one adapter per target, all or none.
  void attach(const std::vector<std::pair<std::string, Linear*>>& targets,
              std::vector<torch::Tensor> a, std::vector<torch::Tensor> b);

  LoadedModel* model_;
  LoraSettings settings_;
  std::vector<Attached> attached_;
};

}  // namespace lmf::torch_backend
