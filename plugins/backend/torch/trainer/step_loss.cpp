#include "trainer/step_loss.h"

#include "training/dpo_loss.h"
#include "training/lm_loss.h"

namespace lmf::torch_backend {

torch::Tensor batch_hidden_states(Decoder& decoder, const torch::Tensor& ids) {
  const int64_t rows = ids.size(0), steps = ids.size(1);
  torch::Tensor positions =
      torch::arange(steps, torch::TensorOptions().dtype(torch::kInt64).device(ids.device())).expand({rows, steps});
  return decoder.hidden_states(ids, ForwardContext{positions, {}, nullptr, steps});
}

MicroBatchLoss language_model_loss(Decoder& decoder, const Batch& batch, int64_t chunk_rows) {
  torch::Tensor hidden = batch_hidden_states(decoder, batch.ids);
  LossSum loss = causal_lm_loss_sum(hidden, decoder.lm_head_weight(), batch.labels, chunk_rows);
  return {loss.sum, loss.tokens, {}, {}, {}};
}

torch::Tensor batch_sequence_logprobs(Decoder& decoder, const Batch& batch, int64_t chunk_rows) {
  torch::Tensor hidden = batch_hidden_states(decoder, batch.ids);
  return sequence_logprobs(hidden, decoder.lm_head_weight(), batch.labels, chunk_rows);
}

MicroBatchLoss preference_loss(Decoder& decoder, const Batch& batch, const torch::Tensor& reference_chosen,
                               const torch::Tensor& reference_rejected, double beta, int64_t chunk_rows) {
  torch::Tensor logps = batch_sequence_logprobs(decoder, batch, chunk_rows);
  const int64_t pairs = batch.pairs;
  DpoLoss dpo = dpo_loss(logps.narrow(0, 0, pairs), logps.narrow(0, pairs, pairs), reference_chosen,
                         reference_rejected, beta);
  const auto count = torch::tensor(pairs, torch::TensorOptions().dtype(torch::kInt64).device(logps.device()));
  return {dpo.loss * static_cast<double>(pairs), count, dpo.chosen_rewards.sum(), dpo.rejected_rewards.sum(),
          dpo.accuracy * static_cast<double>(pairs)};
}

}  // namespace lmf::torch_backend
