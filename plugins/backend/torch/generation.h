// Generation with a KV cache over a batch of prompts of different lengths (left padded),
// each with its own sampling, stops and streaming callback.
#pragma once

#include "decoder.h"
#include "sampling.h"

#include <lmf/lmf_backend.h>

#include <functional>
#include <vector>

namespace lmf::torch_backend {

struct GenerationRequest {
  std::vector<int64_t> prompt;
  SamplingParams sampling;
  // Called with each new token; returns false to stop this sequence (finish: cancelled).
  std::function<bool(int64_t)> on_token;
  // Whether a stop string has appeared in the generated ids (set when sampling.stop is
  // not empty; the backend builds it from the model's tokenizer).
  std::function<bool(const std::vector<int64_t>&)> hit_stop_string;
};

struct GenerationOutput {
  std::vector<int64_t> ids;  // generated ids; a stop id that ended it is included
  lmf_finish_reason finish_reason = LMF_FINISH_LENGTH;
  uint64_t seed = 0;         // the seed sampling used
};

// Throws naming the request when a prompt is empty, holds an id outside the vocabulary,
// or does not fit the model's context.
void check_request(const GenerationRequest& request, const std::string& which,
                   const ModelConfig& config);

// Generates for every request together. `eos_ids` end a sequence unless ignore_eos.
// `cancelled` is polled between steps: when it returns true, every unfinished sequence
// ends as cancelled. Checks every request as check_request does.
std::vector<GenerationOutput> generate(Decoder& decoder, std::vector<GenerationRequest>& requests,
                                       const std::vector<int64_t>& eos_ids,
                                       const std::function<bool()>& cancelled);

}  // namespace lmf::torch_backend
