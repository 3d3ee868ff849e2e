// Choosing the next token from logits: repetition penalty, then greedy or sampling with
// temperature, top-k, top-p and min-p, in the order transformers applies them, with a
// seeded generator of our own so that a seed gives the same tokens on any device.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace lmf::torch_backend {

struct SamplingParams {
  int64_t max_new_tokens = 256;
  bool do_sample = false;  // false: greedy (argmax), as transformers' default
  double temperature = 1.0;
  int64_t top_k = 50;  // 0: off. transformers' default is 50 when sampling
  double top_p = 1.0;  // 1: off
  double min_p = 0.0;  // 0: off
  double repetition_penalty = 1.0;
  std::vector<int64_t> stop_ids;       // besides the model's eos ids
  std::vector<std::string> stop;       // stop strings (need the model's tokenizer)
  bool ignore_eos = false;
  std::optional<uint64_t> seed;        // none: a fresh random seed per request
};

// Reads a request's sampling JSON over `defaults` (the model's generation_config.json);
// throws naming the field for unknown fields and out-of-range values.
SamplingParams parse_sampling(const nlohmann::json& sampling, const SamplingParams& defaults);

// Reads generation_config.json's sampling fields (do_sample, temperature, top_k, top_p,
// min_p, repetition_penalty, max_new_tokens) when the folder has one.
SamplingParams sampling_defaults(const nlohmann::json& generation_config);

class TokenSampler {
 public:
  TokenSampler(const SamplingParams& params, uint64_t seed);

  // Picks the next token from fp32 `logits` [vocab]; `seen` are the prompt's and the
  // generated tokens (for the repetition penalty). `logits` is used as scratch.
  int64_t next(std::span<float> logits, std::span<const int64_t> seen);

 private:
  int64_t sample(std::span<float> logits);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<int32_t> order_;  // scratch: candidate indices
};

}  // namespace lmf::torch_backend
