#include "training/lora.h"

#include "training/peft_folder.h"

#include <lmf/sdk/error.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>

namespace lmf::torch_backend {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "\"" : ", \"") + item + "\"";
  return text;
}

}  // namespace

// Note [LoRA in the activations' dtype]
// PEFT keeps the adapters in fp32 and casts each input to fp32: under a bf16 base every
// adapted projection then runs two fp32 matmuls (no tensor cores), an fp32 copy of its
// input, the scaling and the sum in fp32 — on an H100 about 40% of a LoRA step on the
// Llama-8B shape (docs/benchmarks.md). With compute "input" (the default) the adapters
// stay fp32 — the optimizer's master copy — and are cast to the input's dtype instead,
// the scaling folded into B: the two matmuls run on the tensor cores and nothing of the
// activations' size is fp32. Where input and adapters are both fp32 (the CPU, fp32
// models) the arithmetic is PEFT's exactly.
torch::Tensor LoraAdapter::operator()(const torch::Tensor& x) const {
  const torch::ScalarType dtype = input_dtype(x);
  torch::Tensor h = x.to(dtype);
  if (training_ && dropout_ > 0) h = torch::dropout(h, dropout_, /*train=*/true);
  if (dtype == a_.scalar_type()) return torch::linear(torch::linear(h, a_), b_) * scaling_;
  return torch::linear(torch::linear(h, a_.to(dtype)), (b_ * scaling_).to(dtype));
}

torch::Tensor LoraAdapter::delta_weight() const {
  return torch::matmul(b_, a_) * scaling_;
}

LoraAdapters::LoraAdapters(LoadedModel& model, LoraSettings settings, uint64_t seed,
                           torch::ScalarType dtype)
    : LoraAdapters(model, std::move(settings)) {
  const auto targets = this->targets("LoRA target_modules");
  at::Generator generator = at::detail::createCPUGenerator(seed);
  const torch::Device device = model.decoder->device();
  std::vector<torch::Tensor> a, b;
  for (const auto& [name, linear] : targets) {
    const int64_t out = linear->out_features(), in = linear->in_features();
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    a.push_back(torch::empty({settings_.rank, in}, torch::kFloat32)
                    .uniform_(-bound, bound, generator)
                    .to(device, dtype));
    b.push_back(
        torch::zeros({out, settings_.rank}, torch::TensorOptions().dtype(dtype).device(device)));
  }
  attach(targets, std::move(a), std::move(b));
}

LoraAdapters LoraAdapters::load_peft(LoadedModel& model, const std::string& folder,
                                     torch::ScalarType dtype) {
  LoraAdapters adapters(model, read_peft_adapter_config(folder));
  std::map<std::string, torch::Tensor> tensors = read_peft_tensors(folder);
  const std::string file = (std::filesystem::path(folder) / kPeftWeightsFile).string();
  const int64_t rank = adapters.settings_.rank;
  const auto targets = adapters.targets((std::filesystem::path(folder) / kPeftConfigFile).string() +
                                        ": target_modules");
  auto take = [&](const std::string& module, char matrix, std::vector<int64_t> shape) {
    const std::string name = peft_tensor_name(module, matrix);
    auto it = tensors.find(name);
    if (it == tensors.end())
      sdk::fail(LMF_ERR_DATA, file + ": has no tensor " + name + " (" + kPeftConfigFile +
                                  "'s target_modules name " + module + ")");
    if (it->second.sizes() != at::IntArrayRef(shape))
      sdk::fail(LMF_ERR_DATA, file + ": tensor " + name + " has shape " +
                                  c10::str(it->second.sizes()) +
                                  " but r = " + std::to_string(rank) + " and the model's " +
                                  module + " imply " + c10::str(at::IntArrayRef(shape)));
    torch::Tensor tensor = it->second.to(model.decoder->device(), dtype);
    tensors.erase(it);
    return tensor;
  };
  std::vector<torch::Tensor> a, b;
  for (const auto& [module, linear] : targets) {
    a.push_back(take(module, 'A', {rank, linear->in_features()}));
    b.push_back(take(module, 'B', {linear->out_features(), rank}));
  }
  if (!tensors.empty())
    sdk::fail(LMF_ERR_DATA, file + ": tensor " + tensors.begin()->first +
                                " adapts no projection that " + kPeftConfigFile +
                                "'s target_modules name");
  adapters.attach(targets, std::move(a), std::move(b));
  return adapters;
}

std::vector<std::pair<std::string, Linear*>> LoraAdapters::targets(const std::string& where) const {
  std::vector<std::pair<std::string, Linear*>> found;
  std::vector<std::string> modules;
  model_->decoder->for_each_linear([&](const std::string& name, Linear& linear) {
    modules.push_back(name);
    if (settings_.targets(name)) found.emplace_back(name, &linear);
  });
  const std::vector<std::string> unmatched = settings_.unmatched_targets(modules);
  if (!unmatched.empty())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              where + ": " + join(unmatched) + (unmatched.size() == 1 ? " names" : " name") +
                  " no projection of the model (a block's projections: " + join(kLoraAllLinear) +
                  ", named model.layers.N.self_attn.q_proj …)");
  return found;
}

void LoraAdapters::attach(const std::vector<std::pair<std::string, Linear*>>& targets,
                          std::vector<torch::Tensor> a, std::vector<torch::Tensor> b) {
  for (const auto& [name, linear] : targets)
    if (linear->adapter)
      sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                name + ": already has an adapter (merge or detach it first)");
  for (size_t i = 0; i < targets.size(); ++i) {
    auto adapter =
        std::make_shared<LoraAdapter>(a[i].requires_grad_(true), b[i].requires_grad_(true),
                                      settings_.scaling(), settings_.dropout, settings_.compute == "input");
    targets[i].second->adapter = adapter;
    attached_.push_back({targets[i].first, targets[i].second, adapter});
  }
  model_->decoder->projections_changed();
}

NamedTensors LoraAdapters::parameters() const {
  NamedTensors out;
  for (const Attached& attached : attached_) {
    out.emplace_back(peft_tensor_name(attached.module, 'A'), attached.adapter->a());
    out.emplace_back(peft_tensor_name(attached.module, 'B'), attached.adapter->b());
  }
  return out;
}

void LoraAdapters::set_training(bool training) {
  for (Attached& attached : attached_) attached.adapter->set_training(training);
  model_->decoder->projections_changed();  // dropout on or off: a captured step is stale
}

void LoraAdapters::save_peft(const std::string& folder,
                             const std::string& base_model_name_or_path) const {
  if (attached_.empty())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, folder + ": no LoRA adapters to save (merged or detached)");
  write_peft_folder(folder, peft_adapter_config(settings_, base_model_name_or_path), parameters());
}

void LoraAdapters::merge() {
  torch::NoGradGuard no_grad;
  for (const Attached& attached : attached_)
    if (attached.linear->packed)
      sdk::fail(LMF_ERR_UNSUPPORTED, attached.module +
                                         ": its base weight is packed (quantized), so the adapter cannot be "
                                         "merged into it; save the adapter, or load the model with "
                                         "packed_weights off to merge into the dequantized weight");
  for (Attached& attached : attached_) {
    Linear& linear = *attached.linear;
    const torch::Tensor delta = attached.adapter->delta_weight();
    const std::string name = attached.module + ".weight";
    if (model_->weights.is_mapped(name)) {
      torch::Tensor merged = (linear.weight + delta).to(linear.weight.scalar_type());
      model_->weights.replace(name, merged);
      linear.weight = merged;
    } else {
      linear.weight.add_(delta);
    }
  }
  detach();
}

void LoraAdapters::detach() {
  for (Attached& attached : attached_) attached.linear->adapter.reset();
  attached_.clear();
  model_->decoder->projections_changed();
}

}  // namespace lmf::torch_backend
