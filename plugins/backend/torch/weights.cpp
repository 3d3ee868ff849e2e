#include "weights.h"

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/checkpoint_folder.h"
#include "model_config.h"
#include "tensor_io.h"

#include <lmf/sdk/error.h>

#include <algorithm>

namespace lmf::torch_backend {
namespace ckpt = lmf::checkpoint;

Weights Weights::load(const std::string& folder, torch::Device device,
                      std::optional<torch::ScalarType> dtype) {
  Weights weights;
  weights.folder_ = folder;
  std::shared_ptr<ckpt::CheckpointFolder> files;
  try {
    files = std::make_shared<ckpt::CheckpointFolder>(folder);
  } catch (const ckpt::CheckpointError& e) {
    sdk::fail(LMF_ERR_DATA, e.what());
  }
  bool any_view = false;
  for (const ckpt::TensorEntry* entry_pointer : files->tensors()) {
    const ckpt::TensorEntry& entry = *entry_pointer;
    const torch::ScalarType stored = torch_scalar_type(entry.dtype, folder + ": tensor " + entry.name);
    // The mapping is read-only: a view must never be written to. Floating-point weights
    // become views only when nothing converts them; the model code never writes weights
    // in place (training makes its own copies).
    torch::Tensor view = torch::from_blob(const_cast<std::byte*>(entry.data), entry.shape,
                                          torch::TensorOptions().dtype(stored));
    const bool is_float = torch::isFloatingType(stored);
    const torch::ScalarType wanted = is_float && dtype ? *dtype : stored;
    torch::Tensor tensor;
    const bool aligned = reinterpret_cast<uintptr_t>(entry.data) % view.element_size() == 0;
    if (wanted == stored && device.is_cpu() && aligned) {
      tensor = view;
      any_view = true;
      weights.mapped_.insert(entry.name);
    } else {
      tensor = view.to(device, wanted, /*non_blocking=*/false, /*copy=*/true);
    }
    weights.order_.push_back(entry.name);
    weights.tensors_[entry.name] = std::move(tensor);
  }
  if (any_view) weights.mapping_ = files;
  return weights;
}

Weights Weights::random(const ModelConfig& c, torch::Device device, torch::ScalarType dtype,
                        uint64_t seed) {
  torch::manual_seed(seed);
  Weights weights;
  weights.folder_ = "(random weights)";
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  auto add = [&](const std::string& name, std::vector<int64_t> shape, bool is_norm) {
    torch::Tensor t = is_norm ? torch::ones(shape, options) : torch::randn(shape, options) * 0.02;
    weights.order_.push_back(name);
    weights.tensors_[name] = t;
  };
  const int64_t q = c.num_heads * c.head_dim, kv = c.num_kv_heads * c.head_dim;
  add("model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, false);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    add(p + ".input_layernorm.weight", {c.hidden_size}, true);
    add(p + ".post_attention_layernorm.weight", {c.hidden_size}, true);
    add(p + ".self_attn.q_proj.weight", {q, c.hidden_size}, false);
    add(p + ".self_attn.k_proj.weight", {kv, c.hidden_size}, false);
    add(p + ".self_attn.v_proj.weight", {kv, c.hidden_size}, false);
    add(p + ".self_attn.o_proj.weight", {c.hidden_size, q}, false);
    if (c.attention_bias) {
      add(p + ".self_attn.q_proj.bias", {q}, false);
      add(p + ".self_attn.k_proj.bias", {kv}, false);
      add(p + ".self_attn.v_proj.bias", {kv}, false);
      if (!c.qkv_bias_only) add(p + ".self_attn.o_proj.bias", {c.hidden_size}, false);
    }
    add(p + ".mlp.gate_proj.weight", {c.intermediate_size, c.hidden_size}, false);
    add(p + ".mlp.up_proj.weight", {c.intermediate_size, c.hidden_size}, false);
    add(p + ".mlp.down_proj.weight", {c.hidden_size, c.intermediate_size}, false);
  }
  add("model.norm.weight", {c.hidden_size}, true);
  if (!c.tie_word_embeddings) add("lm_head.weight", {c.vocab_size, c.hidden_size}, false);
  return weights;
}

const torch::Tensor& Weights::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end())
    sdk::fail(LMF_ERR_DATA, folder_ + ": the checkpoint has no tensor " + name);
  return it->second;
}

void Weights::add(const std::string& name, torch::Tensor tensor) {
  if (tensors_.count(name) != 0) sdk::fail(LMF_ERR_DATA, folder_ + ": tensor " + name + " is both stored and quantized");
  order_.push_back(name);
  tensors_[name] = std::move(tensor);
}

void Weights::replace(const std::string& name, torch::Tensor tensor) {
  torch::Tensor& slot = tensors_.at(name);
  TORCH_CHECK(slot.sizes() == tensor.sizes() && slot.scalar_type() == tensor.scalar_type(),
              "Weights::replace: ", name, " changes shape or dtype");
  slot = std::move(tensor);
  mapped_.erase(name);
}

void Weights::erase(const std::string& name) {
  if (tensors_.erase(name) == 0) return;
  order_.erase(std::remove(order_.begin(), order_.end(), name), order_.end());
  used_.erase(name);
  mapped_.erase(name);
}

void Weights::move_to(torch::Device device, torch::ScalarType dtype) {
  for (auto& [name, tensor] : tensors_) {
    const torch::ScalarType wanted = torch::isFloatingType(tensor.scalar_type()) ? dtype : tensor.scalar_type();
    if (tensor.device() == device && tensor.scalar_type() == wanted) continue;
    tensor = tensor.to(device, wanted, /*non_blocking=*/false, /*copy=*/true);
    mapped_.erase(name);
  }
  if (mapped_.empty()) mapping_.reset();
}

void Weights::add_packed(const std::string& module, std::shared_ptr<const PackedWeight> weight) {
  TORCH_CHECK(weight != nullptr && !packed_.count(module), "Weights::add_packed: ", module);
  packed_.emplace(module, std::move(weight));
}

std::shared_ptr<const PackedWeight> Weights::packed(const std::string& module) const {
  auto it = packed_.find(module);
  return it == packed_.end() ? nullptr : it->second;
}

torch::Tensor Weights::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? torch::Tensor() : it->second;
}

std::vector<std::string> Weights::unused() const {
  std::vector<std::string> names;
  for (const std::string& name : order_)
    if (used_.count(name) == 0) names.push_back(name);
  return names;
}

size_t Weights::parameter_count() const {
  size_t count = 0;
  for (const auto& [name, tensor] : tensors_) count += tensor.numel();
  for (const auto& [module, weight] : packed_)
    count += static_cast<size_t>(weight->out_features() * weight->in_features());
  return count;
}

size_t Weights::mapped_bytes() const {
  size_t total = 0;
  for (const std::string& name : mapped_) total += tensors_.at(name).nbytes();
  return total;
}

size_t Weights::bytes() const {
  size_t total = 0;
  for (const auto& [name, tensor] : tensors_) total += tensor.numel() * tensor.element_size();
  for (const auto& [module, weight] : packed_) total += weight->bytes();
  return total;
}

torch::ScalarType parse_torch_dtype(const std::string& name, const std::string& field) {
  if (name == "float32" || name == "fp32" || name == "float") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "half") return torch::kFloat16;
  sdk::fail(LMF_ERR_INVALID_ARGUMENT,
            field + ": \"" + name + "\" is not a dtype (float32, bfloat16, float16)");
}

std::string torch_dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return c10::toString(dtype);
  }
}

void Weights::make_writable(const std::vector<std::string>& names) {
  torch::NoGradGuard no_grad;
  for (const std::string& name : names) {
    if (!mapped_.count(name)) continue;
    torch::Tensor& tensor = tensors_.at(name);
    tensor.set_(tensor.clone());  // swaps the storage under every handle of this tensor
    mapped_.erase(name);
  }
}

}  // namespace lmf::torch_backend
