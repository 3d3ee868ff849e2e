// A model's named tensors as its checkpoint names them (model.layers.0.self_attn.q_proj.weight…),
// loaded from a Hugging Face folder's safetensors files.
#pragma once

#include "packed_weight.h"

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lmf::torch_backend {

struct ModelConfig;

class Weights {
 public:
  // Loads every tensor of `folder` onto `device`, converted to `dtype` when given.
  // Note [Loading without a copy]: tensors whose dtype and device already match are
  // views of the memory-mapped file, which this object keeps mapped; others are
  // converted one at a time, so the peak is the model plus one tensor.
  static Weights load(const std::string& folder, torch::Device device,
                      std::optional<torch::ScalarType> dtype);

  // Random weights of a model's shape, as transformers initialises them (normal with
  // std 0.02, norms 1): for benchmarks, with no file behind them.
  static Weights random(const ModelConfig& config, torch::Device device, torch::ScalarType dtype,
                        uint64_t seed);

  Weights() = default;

  // The tensor called `name`; throws naming it and the folder when it is absent.
  const torch::Tensor& at(const std::string& name) const;
  // The tensor called `name`, or an undefined tensor.
  torch::Tensor find(const std::string& name) const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Adds a tensor the checkpoint does not hold as such (a quantized module's dequantized
  // weight); throws when the name is taken.
  void add(const std::string& name, torch::Tensor tensor);
  // Puts `tensor` (same shape and dtype) in place of the tensor called `name`.
  void replace(const std::string& name, torch::Tensor tensor);
  // Drops the tensor called `name` (a quantized module's part that its packed layer now
  // holds, so that the memory is freed); it counts as used.
  void erase(const std::string& name);

  // Every tensor onto `device`, the floating-point ones in `dtype` (mapped views become
  // copies), one tensor at a time.
  void move_to(torch::Device device, torch::ScalarType dtype);

  // Note [Packed weights]: `module` (e.g. "model.layers.0.mlp.up_proj") computes through
  // `weight` instead of a "<module>.weight" tensor.
  void add_packed(const std::string& module, std::shared_ptr<const PackedWeight> weight);
  // The packed weight of `module`, or null.
  std::shared_ptr<const PackedWeight> packed(const std::string& module) const;
  bool has_packed() const { return !packed_.empty(); }

  // Names in checkpoint order; the tensors a Decoder did not take are reported by `unused`.
  const std::vector<std::string>& names() const { return order_; }
  void mark_used(const std::string& name) { used_.insert({name, true}); }
  std::vector<std::string> unused() const;

  // Whether a tensor is a view of the mapped checkpoint (no copy in memory).
  bool is_mapped(const std::string& name) const { return mapped_.count(name) != 0; }
  // Gives the mapped tensors named their own memory (the mapping is read-only), in place:
  // every holder of those tensors (the decoder) sees the copy. Training calls it for
  // the weights it updates.
  void make_writable(const std::vector<std::string>& names);
  size_t mapped_bytes() const;

  const std::string& folder() const { return folder_; }
  size_t parameter_count() const;
  size_t bytes() const;

 private:
  std::string folder_;
  std::vector<std::string> order_;
  std::map<std::string, torch::Tensor> tensors_;
  std::map<std::string, bool> used_;
  std::set<std::string> mapped_;
  std::map<std::string, std::shared_ptr<const PackedWeight>> packed_;
  std::shared_ptr<void> mapping_;  // keeps the files mapped while views of them live
};

// The torch dtype of a config or option name ("float32", "bf16", "bfloat16", "float16"…);
// throws naming `field` for anything else.
torch::ScalarType parse_torch_dtype(const std::string& name, const std::string& field);
std::string torch_dtype_name(torch::ScalarType dtype);  // as config.json writes it

}  // namespace lmf::torch_backend
