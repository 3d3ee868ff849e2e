#include "evaluation.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend {
namespace {

torch::Tensor as_batch(std::span<const int64_t> ids, torch::Device device) {
  return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64)
      .view({1, -1})
      .to(device);
}

// Per-token log-probabilities of ids[1:] given ids[:-1], computed in fp32, [T-1].
torch::Tensor next_token_logprobs(Decoder& decoder, const torch::Tensor& window) {
  const int64_t steps = window.size(1);
  torch::Tensor positions = torch::arange(steps, window.options()).view({1, steps});
  torch::Tensor hidden =
      decoder.hidden_states(window, ForwardContext{positions, {}, nullptr, steps});
  torch::Tensor logprobs = torch::log_softmax(decoder.logits(hidden.narrow(1, 0, steps - 1)), -1);
  return logprobs[0].gather(-1, window[0].narrow(0, 1, steps - 1).unsqueeze(-1)).squeeze(-1);
}

}  // namespace

NllSum sliding_window_nll(Decoder& decoder, std::span<const int64_t> ids, int64_t max_length,
                          int64_t stride) {
  if (max_length < 2) sdk::fail(LMF_ERR_INVALID_ARGUMENT, "evaluate: max_length must be ≥ 2");
  if (stride < 1 || stride > max_length)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "evaluate: stride must be in [1, max_length]");
  torch::NoGradGuard no_grad;
  NllSum total;
  const int64_t length = static_cast<int64_t>(ids.size());
  if (length < 2) return total;
  int64_t scored_until = 0;  // ids[< scored_until] have been scored (or are the first)
  for (int64_t begin = 0; begin < length; begin += stride) {
    const int64_t end = std::min(begin + max_length, length);
    // Targets are ids[max(begin + 1, scored_until) .. end).
    const int64_t first_target = std::max(begin + 1, scored_until);
    if (first_target < end) {
      torch::Tensor logprobs = next_token_logprobs(decoder, as_batch(ids.subspan(begin, end - begin), decoder.device()));
      // logprobs[j] scores ids[begin + 1 + j].
      torch::Tensor targets = logprobs.narrow(0, first_target - begin - 1, end - first_target);
      total.nll -= targets.to(torch::kFloat64).sum().item<double>();
      total.tokens += end - first_target;
    }
    scored_until = end;
    if (end == length) break;
  }
  return total;
}

double continuation_logprob(Decoder& decoder, std::span<const int64_t> context,
                            std::span<const int64_t> continuation) {
  if (context.empty() || continuation.empty())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "evaluate: a score needs a non-empty context and continuation");
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids(context.begin(), context.end());
  ids.insert(ids.end(), continuation.begin(), continuation.end());
  torch::Tensor logprobs = next_token_logprobs(decoder, as_batch(ids, decoder.device()));
  return logprobs.narrow(0, context.size() - 1, continuation.size()).to(torch::kFloat64).sum().item<double>();
}

}  // namespace lmf::torch_backend
