#include "training/dpo_loss.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend {

DpoLoss dpo_loss(const torch::Tensor& policy_chosen, const torch::Tensor& policy_rejected,
                 const torch::Tensor& reference_chosen, const torch::Tensor& reference_rejected,
                 double beta) {
  if (beta <= 0)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "DPO loss: beta must be > 0, not " + std::to_string(beta));
  for (const torch::Tensor* t : {&policy_rejected, &reference_chosen, &reference_rejected})
    if (t->sizes() != policy_chosen.sizes() || policy_chosen.dim() != 1)
      sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                "DPO loss: the four log-probabilities must be [B] tensors of one size");
  // TRL: logits = (chosen_logps − rejected_logps) − (ref_chosen_logps − ref_rejected_logps).
  torch::Tensor logits =
      (policy_chosen - policy_rejected) - (reference_chosen - reference_rejected);
  DpoLoss out;
  out.loss = -torch::log_sigmoid(beta * logits).mean();
  out.chosen_rewards = beta * (policy_chosen - reference_chosen).detach();
  out.rejected_rewards = beta * (policy_rejected - reference_rejected).detach();
  out.accuracy = (out.chosen_rewards > out.rejected_rewards).to(torch::kFloat32).mean();
  out.margin = (out.chosen_rewards - out.rejected_rewards).mean();
  return out;
}

}  // namespace lmf::torch_backend
