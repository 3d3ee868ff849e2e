// Evaluation: perplexity with a sliding window, and log-likelihood scores of candidate
// continuations (the base of classifying a record by its most likely label).
#pragma once

#include "decoder.h"

#include <cstdint>
#include <span>
#include <vector>

namespace lmf::torch_backend {

struct NllSum {
  double nll = 0;       // summed negative log-likelihood, nats
  int64_t tokens = 0;   // tokens scored
};

// Note [Sliding-window perplexity]
// transformers' "perplexity of fixed-length models": windows of `max_length` tokens
// starting every `stride` tokens; each window scores only the tokens no earlier window
// scored, with up to max_length - stride tokens of context before them. stride ==
// max_length gives disjoint windows (fast, less context); a smaller stride costs more
// forward passes and approaches the model's true perplexity. The first token of the
// sequence is never scored (it has no context).
NllSum sliding_window_nll(Decoder& decoder, std::span<const int64_t> ids, int64_t max_length,
                          int64_t stride);

// log p(continuation | context), summed over the continuation's tokens, in nats.
double continuation_logprob(Decoder& decoder, std::span<const int64_t> context,
                            std::span<const int64_t> continuation);

}  // namespace lmf::torch_backend
