// The loss of one micro-batch: causal-LM cross-entropy (pretraining, SFT) summed over its
// target tokens, or DPO's loss over its chosen/rejected pairs.
#pragma once

#include "decoder.h"
#include "trainer/batches.h"

#include <torch/torch.h>

namespace lmf::torch_backend {

// Final hidden states of a right-padded batch (positions 0..T-1 on every row).
torch::Tensor batch_hidden_states(Decoder& decoder, const torch::Tensor& ids);

struct MicroBatchLoss {
  torch::Tensor sum;      // 0-d fp32, differentiable: Σ token NLL (LM) or Σ pair loss (DPO)
  torch::Tensor tokens;   // 0-d int64: target tokens (LM) or pairs (DPO) it sums over
  // DPO statistics (undefined for LM): Σ chosen reward, Σ rejected reward, Σ correct.
  torch::Tensor chosen_reward_sum, rejected_reward_sum, correct;
};

// The causal-LM loss of `batch` (on the decoder's device already).
MicroBatchLoss language_model_loss(Decoder& decoder, const Batch& batch, int64_t chunk_rows);

// Σ log p of each row's target tokens: [rows] fp32 (DPO's sequence log-probabilities).
torch::Tensor batch_sequence_logprobs(Decoder& decoder, const Batch& batch, int64_t chunk_rows);

// DPO's loss of `batch` given the reference model's sequence log-probabilities of its
// chosen and rejected rows ([pairs] each).
MicroBatchLoss preference_loss(Decoder& decoder, const Batch& batch, const torch::Tensor& reference_chosen,
                               const torch::Tensor& reference_rejected, double beta, int64_t chunk_rows);

}  // namespace lmf::torch_backend
