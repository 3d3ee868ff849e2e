#include "training/adamw.h"

#include "config_fields.h"
#include "kernels/adamw_kernels.h"
#include "torch_compat.h"
#include "training/grad_clip.h"

#include <lmf/sdk/error.h>

#include <cctype>
#include <cmath>
#include <optional>
#include <regex>
#include <set>

#ifndef LMF_FUSED_KERNELS
#define LMF_FUSED_KERNELS 0  // set by CMake when the kernels/*.cu are compiled
#endif

namespace lmf::torch_backend {
namespace {

[[noreturn]] void bad_state(const std::string& what) {
  sdk::fail(LMF_ERR_DATA, "optimizer state: " + what);
}

double fraction_below_one(const FieldReader& fields, const char* field,
                          const nlohmann::json& value) {
  if (!value.is_number() || value.get<double>() < 0 || value.get<double>() >= 1)
    fields.bad(field, "must hold numbers in [0, 1), not " + value.dump());
  return value.get<double>();
}

}  // namespace

AdamWSettings AdamWSettings::from_json(const nlohmann::json& object, const std::string& origin) {
  if (!object.is_object())
    sdk::fail(LMF_ERR_DATA, origin + ": must be a JSON object, not " + object.dump());
  FieldReader fields(object, origin);
  const std::set<std::string> known = {"lr", "betas", "eps", "weight_decay"};
  for (const auto& [key, value] : object.items())
    if (!known.count(key))
      fields.bad(key, "is not an AdamW setting (known: betas, eps, lr, weight_decay)");
  AdamWSettings s;
  s.lr = fields.number_or("lr", s.lr);
  if (s.lr < 0) fields.bad("lr", "must be ≥ 0");
  if (fields.present("betas")) {
    const nlohmann::json& betas = object.at("betas");
    if (!betas.is_array() || betas.size() != 2)
      fields.bad("betas", "must be [beta1, beta2], not " + betas.dump());
    s.beta1 = fraction_below_one(fields, "betas", betas[0]);
    s.beta2 = fraction_below_one(fields, "betas", betas[1]);
  }
  s.eps = fields.number_or("eps", s.eps);
  if (s.eps < 0) fields.bad("eps", "must be ≥ 0");
  s.weight_decay = fields.number_or("weight_decay", s.weight_decay);
  if (s.weight_decay < 0) fields.bad("weight_decay", "must be ≥ 0");
  return s;
}

bool decays_like_hf_trainer(const std::string& name) {
  // transformers' forbidden_name_patterns, searched in the lower-cased name.
  static const std::regex no_decay(R"(bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.))");
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !std::regex_search(lower, no_decay);
}

AdamW::AdamW(std::vector<NamedParameter> parameters, AdamWSettings settings,
             const DecayRule& decays)
    : settings_(settings) {
  torch::NoGradGuard no_grad;
  std::set<std::string> names;
  for (NamedParameter& p : parameters) {
    if (!names.insert(p.name).second)
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, "AdamW: parameter " + p.name + " is given twice");
    if (!p.tensor.defined() || !p.tensor.is_floating_point())
      sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                "AdamW: parameter " + p.name + " is not a floating-point tensor");
    Slot slot;
    slot.name = p.name;
    slot.parameter = p.tensor;
    if (p.tensor.scalar_type() != torch::kFloat32)
      slot.master = p.tensor.to(torch::kFloat32, false, /*copy=*/true);
    const auto fp32 = p.tensor.options().dtype(torch::kFloat32);
    slot.exp_avg = torch::zeros(p.tensor.sizes(), fp32);
    slot.exp_avg_sq = torch::zeros(p.tensor.sizes(), fp32);
    slot.decays = decays(p.name);
    slot.weight_decay = slot.decays ? settings_.weight_decay : 0.0;
    slots_.push_back(std::move(slot));
  }
  fused_ = fused_kernel_applies();
}

void AdamW::step(double lr, const torch::Tensor& grad_scale) {
  torch::NoGradGuard no_grad;
  ++steps_;
  if (fused_) return step_fused(lr, grad_scale);
  if (grad_scale.defined()) scale_grads(parameters(), grad_scale);
  for (Slot& slot : slots_) {
    const torch::Tensor& grad = slot.parameter.grad();
    if (grad.defined()) update(slot, grad, lr);
  }
}

// Note [Fused AdamW on CUDA]
// The single-tensor update below is ten passes over each parameter's memory (~92 bytes
// per bf16 parameter); at 1.5B parameters that was ~55 ms of every step on an H100.
// libtorch 2.x has torch.optim.AdamW(fused=True)'s kernel, at::_fused_adamw_: one
// multi-tensor launch reads master, moments and grad once and writes them once. But it
// wants fp32 grads beside fp32 masters, so a bf16 parameter also took a pass widening its
// grad and one casting the master back, and clipping one scaling the grads: ~60 bytes per
// parameter, 38 ms of a 225 ms step at 1.78B parameters.
//
// So 16-bit parameters (with LMF_FUSED_KERNELS) take our multi-tensor kernel
// (kernels/adamw_kernels.cu), which does all of it in one pass: it reads the bf16 grad,
// multiplied as it is read by the clip coefficient that `grad_scale` holds on the device,
// and the fp32 master and moments, and writes those and the parameter rounded to bf16:
// ~28 bytes per parameter, 18 ms. Its arithmetic is libtorch 2.11's fused kernel's,
// roundings included, and it applies the coefficient as grad.mul_(coefficient) would, so
// it equals clipping and then at::_fused_adamw_ on the widened grad bit for bit (checked
// on an H100 against libtorch 2.11+cu130); the tests compare it with the single-tensor
// update within fp32 rounding. fp32 parameters take at::_fused_adamw_, their grads scaled
// first; the path is a parameter's by its dtype, the same in every step (a grad of another
// dtype or layout is converted for the kernel). libtorch's kernel
// takes the step count as an fp32 tensor on the device that the caller increments first
// (as torch.optim does), ours the host's count. For it, grads are widened to fp32 a chunk
// of ~2^28 elements at a time: at most 1 GiB more memory, not 4 bytes per parameter.
//
// Neither order is bit for bit the single-tensor one, so the CPU (and the fixtures of
// torch's single-tensor path) keep `update`. Which of the two an optimizer takes is
// decided once, when it is made (every parameter contiguous on one CUDA device), so a
// run never mixes them and resuming stays bit for bit.
bool AdamW::fused_kernel_applies() const {
#if LMF_TORCH_AT_LEAST(2, 6)
  if (slots_.empty() || !slots_[0].parameter.is_cuda()) return false;
  for (const Slot& slot : slots_)
    if (slot.parameter.device() != slots_[0].parameter.device() || !slot.parameter.is_contiguous())
      return false;
  return true;
#else
  return false;
#endif
}

namespace {

std::optional<kernels::Dtype> sixteen_bit_dtype(torch::ScalarType type) {
  switch (type) {
    case torch::kBFloat16: return kernels::Dtype::bf16;
    case torch::kFloat16: return kernels::Dtype::f16;
    default: return std::nullopt;
  }
}

// Whether the mixed-precision kernel takes this (contiguous) parameter: by its dtype
// alone, which a run never changes, so that a parameter takes one path in every step.
bool mixed_precision_kernel_takes(const torch::Tensor& parameter) {
  return LMF_FUSED_KERNELS && sixteen_bit_dtype(parameter.scalar_type()).has_value();
}

}  // namespace

void AdamW::step_fused(double lr, const torch::Tensor& grad_scale) {
  const torch::Device device = slots_[0].parameter.device();
  for (const Slot& slot : slots_) {  // check every grad before anything changes
    const torch::Tensor& grad = slot.parameter.grad();
    if (grad.defined() && (grad.device() != device || grad.sizes() != slot.parameter.sizes()))
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, "AdamW: the grad of " + slot.name + " is " +
                                              c10::str(grad.sizes()) + " on " + grad.device().str() +
                                              ", the parameter " + c10::str(slot.parameter.sizes()) +
                                              " on " + device.str());
  }
  if (grad_scale.defined() && grad_scale.numel() != 1)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              "AdamW: the grad scale must hold one number, not " + c10::str(grad_scale.sizes()));
  std::vector<Slot*> mixed_precision, others;
  for (Slot& slot : slots_) {
    const torch::Tensor& grad = slot.parameter.grad();
    if (!grad.defined()) continue;
    const bool ours = mixed_precision_kernel_takes(slot.parameter);
    (ours ? mixed_precision : others).push_back(&slot);
  }
  if (!others.empty()) {
    if (grad_scale.defined()) {  // as clipping would have scaled them
      std::vector<torch::Tensor> parameters;
      for (const Slot* slot : others) parameters.push_back(slot->parameter);
      scale_grads(parameters, grad_scale);
    }
    step_libtorch_fused(others, lr);
  }
  if (!mixed_precision.empty()) step_mixed_precision(mixed_precision, lr, grad_scale);
}

void AdamW::step_mixed_precision(const std::vector<Slot*>& slots, double lr,
                                 const torch::Tensor& grad_scale) {
#if LMF_FUSED_KERNELS
  const torch::Device device = slots[0]->parameter.device();
  const torch::Tensor scale =
      grad_scale.defined() ? grad_scale.to(device, torch::kFloat32).contiguous() : torch::Tensor();
  const compat::DeviceScope scope(device);
  const kernels::AdamWHyperparameters hyper{lr, settings_.beta1, settings_.beta2, settings_.eps};
  std::map<kernels::Dtype, std::vector<kernels::AdamWTensor>> by_dtype;  // a launch: one dtype
  std::vector<torch::Tensor> grads;  // in the parameter's dtype and contiguous, as the kernel reads them
  grads.reserve(slots.size());
  for (Slot* slot : slots) {
    slot->device_step = torch::Tensor();  // libtorch's path makes it again from `step`
    grads.push_back(slot->parameter.grad().to(slot->parameter.scalar_type()).contiguous());
    kernels::AdamWTensor t;
    t.parameter = slot->parameter.data_ptr();
    t.grad = grads.back().data_ptr();
    t.master = slot->master.data_ptr<float>();
    t.exp_avg = slot->exp_avg.data_ptr<float>();
    t.exp_avg_sq = slot->exp_avg_sq.data_ptr<float>();
    t.numel = slot->parameter.numel();
    t.weight_decay = slot->weight_decay;
    t.step = ++slot->step;
    by_dtype[*sixteen_bit_dtype(slot->parameter.scalar_type())].push_back(t);
  }
  for (const auto& [dtype, tensors] : by_dtype)
    kernels::adamw_mixed_precision_step(dtype, tensors.data(), static_cast<int64_t>(tensors.size()),
                                        hyper, scale.defined() ? scale.data_ptr<float>() : nullptr,
                                        compat::cuda_stream(device));
#else
  (void)slots, (void)lr, (void)grad_scale;
  throw std::logic_error("AdamW: the mixed-precision kernel is not in this build");
#endif
}

void AdamW::step_libtorch_fused(const std::vector<Slot*>& slots, double lr) {
#if LMF_TORCH_AT_LEAST(2, 6)
  struct Chunk {
    std::vector<torch::Tensor> targets, grads, exp_avgs, exp_avg_sqs, steps;
    std::vector<Slot*> slots;
    int64_t elements = 0;
  };
  const AdamWSettings& s = settings_;
  auto launch = [&](double weight_decay, Chunk& chunk) {
    if (chunk.slots.empty()) return;
    at::_foreach_add_(chunk.steps, 1);
    at::_fused_adamw_(chunk.targets, chunk.grads, chunk.exp_avgs, chunk.exp_avg_sqs,
                      /*max_exp_avg_sqs=*/{}, chunk.steps, lr, s.beta1, s.beta2, weight_decay, s.eps,
                      /*amsgrad=*/false, /*maximize=*/false);
    for (Slot* slot : chunk.slots) {
      ++slot->step;
      if (slot->master.defined()) slot->parameter.copy_(slot->master);
    }
    chunk = Chunk();
  };
  constexpr int64_t kChunkElements = int64_t{1} << 28;
  std::map<double, Chunk> chunks;  // by weight decay: the kernel takes one value
  for (Slot* slot : slots) {
    const torch::Tensor& grad = slot->parameter.grad();
    Chunk& chunk = chunks[slot->weight_decay];
    chunk.targets.push_back(slot->master.defined() ? slot->master : slot->parameter);
    chunk.grads.push_back(grad.to(torch::kFloat32).contiguous());
    chunk.exp_avgs.push_back(slot->exp_avg);
    chunk.exp_avg_sqs.push_back(slot->exp_avg_sq);
    if (!slot->device_step.defined())
      slot->device_step = torch::full({}, static_cast<double>(slot->step),
                                      slot->exp_avg.options().dtype(torch::kFloat32));
    chunk.steps.push_back(slot->device_step);
    chunk.slots.push_back(slot);
    chunk.elements += grad.numel();
    if (chunk.elements >= kChunkElements) launch(slot->weight_decay, chunk);
  }
  for (auto& [weight_decay, chunk] : chunks) launch(weight_decay, chunk);
#else
  (void)slots, (void)lr;
#endif
}

// The operations of torch.optim.adam's _single_tensor_adam (decoupled_weight_decay), in
// its order and with its host-side scalars, so that fp32 results match it bit for bit.
void AdamW::update(Slot& slot, const torch::Tensor& grad, double lr) const {
  const AdamWSettings& s = settings_;
  torch::Tensor& target = slot.master.defined() ? slot.master : slot.parameter;
  const torch::Tensor g = grad.scalar_type() == torch::kFloat32 ? grad : grad.to(torch::kFloat32);
  const double step = static_cast<double>(++slot.step);
  if (slot.weight_decay != 0) target.mul_(1 - lr * slot.weight_decay);
  slot.exp_avg.lerp_(g, 1 - s.beta1);
  slot.exp_avg_sq.mul_(s.beta2).addcmul_(g, g, 1 - s.beta2);
  const double step_size = lr / (1 - std::pow(s.beta1, step));
  const double bias_correction2_sqrt = std::sqrt(1 - std::pow(s.beta2, step));
  torch::Tensor denominator = (slot.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(s.eps);
  target.addcdiv_(slot.exp_avg, denominator, -step_size);
  if (slot.master.defined()) slot.parameter.copy_(slot.master);
}

void AdamW::zero_grad() {
  for (Slot& slot : slots_) slot.parameter.mutable_grad() = torch::Tensor();
}

std::vector<torch::Tensor> AdamW::parameters() const {
  std::vector<torch::Tensor> out;
  for (const Slot& slot : slots_) out.push_back(slot.parameter);
  return out;
}

bool AdamW::decays(const std::string& name) const {
  for (const Slot& slot : slots_)
    if (slot.name == name) return slot.decays;
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "AdamW: no parameter called " + name);
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::Slot::named_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out = {
      {name + ".exp_avg", exp_avg},
      {name + ".exp_avg_sq", exp_avg_sq},
      {name + ".step", torch::tensor(step, torch::kInt64)}};
  if (master.defined()) out.emplace_back(name + ".master", master);
  return out;
}

OptimizerState AdamW::state() const {
  OptimizerState state;
  state.step = steps_;
  for (const Slot& slot : slots_)
    for (auto& named : slot.named_state()) state.tensors.push_back(std::move(named));
  return state;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& tensors, int64_t step) {
  // Check everything before changing anything: a refused state leaves the optimizer as it was.
  std::set<std::string> expected;
  for (const Slot& slot : slots_) {
    for (const auto& [name, mine] : slot.named_state()) {
      expected.insert(name);
      auto found = tensors.find(name);
      if (found == tensors.end()) bad_state("tensor " + name + " is missing");
      const torch::Tensor& theirs = found->second;
      if (theirs.sizes() != mine.sizes())
        bad_state("tensor " + name + " has shape " + c10::str(theirs.sizes()) +
                  " but the parameter needs " + c10::str(mine.sizes()));
      if (theirs.scalar_type() != mine.scalar_type())
        bad_state("tensor " + name + " is " + std::string(c10::toString(theirs.scalar_type())) +
                  ", not " + c10::toString(mine.scalar_type()));
    }
  }
  for (const auto& [name, tensor] : tensors)
    if (!expected.count(name))
      bad_state("tensor " + name + " belongs to no parameter of this optimizer");
  if (step < 0) bad_state("the step count is negative (" + std::to_string(step) + ")");

  torch::NoGradGuard no_grad;
  for (Slot& slot : slots_) {
    slot.exp_avg.copy_(tensors.at(slot.name + ".exp_avg"));
    slot.exp_avg_sq.copy_(tensors.at(slot.name + ".exp_avg_sq"));
    slot.step = tensors.at(slot.name + ".step").item<int64_t>();
    slot.device_step = torch::Tensor();  // the fused path makes it again from `step`
    if (slot.master.defined()) {
      slot.master.copy_(tensors.at(slot.name + ".master"));
      slot.parameter.copy_(slot.master);
    }
  }
  steps_ = step;
}

}  // namespace lmf::torch_backend
