// AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments),
// with fp32 master weights for low-precision parameters (Note [Master weights]). The
// learning rate of each step comes from outside (lr_schedule.h).
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lmf::torch_backend {

struct AdamWSettings {
  double lr = 3e-5;  // the peak learning rate; the schedule scales it step by step
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.0;  // for the parameters the decay rule selects

  // {"lr", "betas": [beta1, beta2], "eps", "weight_decay"}, each optional (the defaults
  // above). Errors name `origin` and the field; unknown fields are refused.
  static AdamWSettings from_json(const nlohmann::json& object,
                                 const std::string& origin = "train: optimizer");
};

// Whether a parameter, by its checkpoint name, gets weight decay.
using DecayRule = std::function<bool(const std::string& name)>;

// Hugging Face Trainer's rule (Trainer.get_decay_parameter_names): every parameter but
// biases and normalisation weights ("bias", "layernorm", "rmsnorm", a "norm" or "_norm"
// name component, case-insensitive).
bool decays_like_hf_trainer(const std::string& name);

struct NamedParameter {
  std::string name;      // as the checkpoint names it
  torch::Tensor tensor;  // a leaf that requires grad; the optimizer reads its .grad()
};

// The optimizer's state as named tensors (Note [Optimizer state names]) and its step.
struct OptimizerState {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  int64_t step = 0;  // optimizer steps taken
};

// Note [Master weights]
// A parameter that is not fp32 (bf16 on the GPU) gets an fp32 master copy, and its
// moments are fp32 too. A step updates the master with the grad in fp32 and writes the
// master, rounded to nearest, back into the parameter. The update is then exactly
// torch.optim.AdamW's on fp32 parameters, while the forward and backward run in bf16:
// 2 bytes of weight and 2 of grad per parameter instead of 4 + 4 under autocast, plus
// the 12 bytes of master and moments both ways. On CUDA one kernel reads the 16-bit grad
// and writes the rounded parameter in the same pass as the update (Note [Fused AdamW on
// CUDA]); elsewhere the grad is widened and the master copied back in passes of their own.
//
// Note [Optimizer state names]
// "<param>.exp_avg", "<param>.exp_avg_sq" (fp32, the parameter's shape), "<param>.step"
// (int64 scalar: the steps this parameter took, as torch counts per parameter: a step
// where it had no grad skips it) and, for a non-fp32 parameter, "<param>.master".
class AdamW {
 public:
  // `decays` picks the parameters that get `settings.weight_decay`; the others get none.
  AdamW(std::vector<NamedParameter> parameters, AdamWSettings settings,
        const DecayRule& decays = decays_like_hf_trainer);

  // One update of every parameter that has a grad, with learning rate `lr`. No host
  // synchronisation: the bias corrections come from step counts the host keeps.
  // `grad_scale` (optional, a 0-d fp32 tensor on the parameters' device) multiplies every
  // grad first, exactly as scale_grads (grad_clip.h) would: pass clip_coefficient's
  // coefficient instead of clipping, and the fused kernel applies it as it reads each grad
  // (Note [Fused AdamW on CUDA]). The other paths scale the grads in place, so grads are
  // unspecified after a step with a scale (zero_grad drops them anyway).
  void step(double lr, const torch::Tensor& grad_scale = {});
  // Drops the grads (torch's zero_grad(set_to_none=True)).
  void zero_grad();

  int64_t steps_taken() const { return steps_; }
  // Whether steps go through the fused CUDA kernel (Note [Fused AdamW on CUDA]).
  bool fused() const { return fused_; }
  const AdamWSettings& settings() const { return settings_; }
  // The parameter tensors, in the order given (for clipping: grad_clip.h).
  std::vector<torch::Tensor> parameters() const;
  // Whether the parameter called `name` gets weight decay; throws for an unknown name.
  bool decays(const std::string& name) const;

  // The live state tensors, not copies: write them out before the next step.
  OptimizerState state() const;
  // Copies `state` in. Every name of Note [Optimizer state names] must be there with
  // this optimizer's shape and dtype, and no other; the error names the tensor.
  void load_state(const std::map<std::string, torch::Tensor>& tensors, int64_t step);

 private:
  struct Slot {
    std::string name;
    torch::Tensor parameter;
    torch::Tensor master;  // fp32 copy for a non-fp32 parameter, else undefined
    torch::Tensor exp_avg, exp_avg_sq;
    int64_t step = 0;
    bool decays = false;
    double weight_decay = 0.0;  // settings' weight_decay where `decays`, else 0
    torch::Tensor device_step;  // fused path: `step` as an fp32 scalar beside the parameter
    std::vector<std::pair<std::string, torch::Tensor>> named_state() const;
  };
  void update(Slot& slot, const torch::Tensor& grad, double lr) const;
  // Note [Fused AdamW on CUDA]: whether every parameter suits the multi-tensor kernels
  // (decided once), and the step through them: lmforge's mixed-precision kernel for
  // 16-bit parameters, libtorch's fused AdamW for the others.
  bool fused_kernel_applies() const;
  void step_fused(double lr, const torch::Tensor& grad_scale);
  void step_mixed_precision(const std::vector<Slot*>& slots, double lr,
                            const torch::Tensor& grad_scale);
  void step_libtorch_fused(const std::vector<Slot*>& slots, double lr);

  AdamWSettings settings_;
  std::vector<Slot> slots_;
  int64_t steps_ = 0;
  bool fused_ = false;
};

}  // namespace lmf::torch_backend
