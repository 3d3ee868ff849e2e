// The DPO loss of TRL's DPOTrainer (loss_type "sigmoid", no label smoothing) and the
// reward statistics it logs.
#pragma once

#include <torch/torch.h>

namespace lmf::torch_backend {

struct DpoLoss {
  torch::Tensor loss;  // 0-d: mean over pairs of −log σ(β·((πc − πr) − (refc − refr)))
  torch::Tensor chosen_rewards;  // [B]: β·(πc − refc), detached (TRL's rewards/chosen is the mean)
  torch::Tensor rejected_rewards;  // [B]: β·(πr − refr), detached (rewards/rejected)
  torch::Tensor
      accuracy;  // 0-d: fraction of pairs whose chosen reward is higher (rewards/accuracies)
  torch::Tensor margin;  // 0-d: mean of chosen − rejected rewards (rewards/margins)
};

// All four inputs are [B] sequence log-probabilities (lm_loss.h: sequence_logprobs); the
// reference ones come from the frozen reference model. The loss is differentiable w.r.t.
// the policy's.
DpoLoss dpo_loss(const torch::Tensor& policy_chosen, const torch::Tensor& policy_rejected,
                 const torch::Tensor& reference_chosen, const torch::Tensor& reference_rejected,
                 double beta);

}  // namespace lmf::torch_backend
