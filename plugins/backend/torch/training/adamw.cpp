#include "training/adamw.h"

#include "config_fields.h"

#include <lmf/sdk/error.h>

#include <cctype>
#include <cmath>
#include <regex>
#include <set>

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
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  for (Slot& slot : slots_) {
    const torch::Tensor& grad = slot.parameter.grad();
    if (grad.defined()) update(slot, grad, lr);
  }
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
    if (slot.master.defined()) {
      slot.master.copy_(tensors.at(slot.name + ".master"));
      slot.parameter.copy_(slot.master);
    }
  }
  steps_ = step;
}

}  // namespace lmf::torch_backend
