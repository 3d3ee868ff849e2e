#include "sampling.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, "sampling." + field + " " + what);
}

double number(const json& value, const std::string& field) {
  if (!value.is_number()) bad(field, "must be a number, not " + value.dump());
  return value.get<double>();
}

int64_t integer(const json& value, const std::string& field) {
  if (!value.is_number_integer()) bad(field, "must be an integer, not " + value.dump());
  return value.get<int64_t>();
}

void check_ranges(const SamplingParams& p) {
  if (p.max_new_tokens < 1) bad("max_new_tokens", "must be at least 1");
  if (!(p.temperature >= 0) || !std::isfinite(p.temperature)) bad("temperature", "must be ≥ 0");
  if (p.top_k < 0) bad("top_k", "must be ≥ 0 (0 turns it off)");
  if (!(p.top_p > 0 && p.top_p <= 1)) bad("top_p", "must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p < 1)) bad("min_p", "must be in [0, 1)");
  if (!(p.repetition_penalty > 0) || !std::isfinite(p.repetition_penalty))
    bad("repetition_penalty", "must be > 0");
}

void apply(const json& sampling, SamplingParams& p, bool strict) {
  for (const auto& [key, value] : sampling.items()) {
    if (value.is_null()) continue;
    if (key == "max_new_tokens") p.max_new_tokens = integer(value, key);
    else if (key == "do_sample") {
      if (!value.is_boolean()) bad(key, "must be true or false");
      p.do_sample = value.get<bool>();
    } else if (key == "temperature") p.temperature = number(value, key);
    else if (key == "top_k") p.top_k = integer(value, key);
    else if (key == "top_p") p.top_p = number(value, key);
    else if (key == "min_p") p.min_p = number(value, key);
    else if (key == "repetition_penalty") p.repetition_penalty = number(value, key);
    else if (key == "ignore_eos") {
      if (!value.is_boolean()) bad(key, "must be true or false");
      p.ignore_eos = value.get<bool>();
    } else if (key == "seed") {
      if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
        bad(key, "must be a non-negative integer");
      p.seed = value.get<uint64_t>();
    } else if (key == "stop_ids") {
      if (!value.is_array()) bad(key, "must be a list of token ids");
      p.stop_ids.clear();
      for (const json& id : value) p.stop_ids.push_back(integer(id, key + "[]"));
    } else if (key == "stop") {
      if (!value.is_array()) bad(key, "must be a list of strings");
      p.stop.clear();
      for (const json& text : value) {
        if (!text.is_string() || text.get<std::string>().empty())
          bad(key, "must hold non-empty strings");
        p.stop.push_back(text.get<std::string>());
      }
    } else if (strict) {
      bad(key, "is not a sampling option (max_new_tokens, do_sample, temperature, top_k, top_p, "
               "min_p, repetition_penalty, stop_ids, stop, ignore_eos, seed)");
    }
  }
}

}  // namespace

SamplingParams parse_sampling(const json& sampling, const SamplingParams& defaults) {
  if (!sampling.is_object()) bad("", "must be a JSON object");
  SamplingParams p = defaults;
  apply(sampling, p, /*strict=*/true);
  // A temperature given without do_sample means sampling, as users of every serving API
  // expect; temperature 0 means greedy.
  if (sampling.contains("temperature") && !sampling.contains("do_sample"))
    p.do_sample = p.temperature > 0;
  if (p.do_sample && p.temperature == 0) p.do_sample = false;
  check_ranges(p);
  return p;
}

SamplingParams sampling_defaults(const json& generation_config) {
  SamplingParams p;
  if (!generation_config.is_object()) return p;
  json known = json::object();
  for (const char* key : {"max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "min_p",
                          "repetition_penalty"})
    if (generation_config.contains(key)) known[key] = generation_config.at(key);
  apply(known, p, /*strict=*/false);
  check_ranges(p);
  return p;
}

TokenSampler::TokenSampler(const SamplingParams& params, uint64_t seed)
    : params_(params), rng_(seed) {}

int64_t TokenSampler::next(std::span<float> logits, std::span<const int64_t> seen) {
  // transformers' RepetitionPenaltyLogitsProcessor: each distinct seen token once,
  // negative logits multiplied, positive ones divided.
  if (params_.repetition_penalty != 1.0) {
    std::vector<int64_t> distinct(seen.begin(), seen.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const float penalty = static_cast<float>(params_.repetition_penalty);
    for (int64_t id : distinct) {
      if (id < 0 || id >= static_cast<int64_t>(logits.size())) continue;
      float& value = logits[id];
      value = value < 0 ? value * penalty : value / penalty;
    }
  }
  if (!params_.do_sample)  // argmax; the first of equal maxima, as torch.argmax
    return std::max_element(logits.begin(), logits.end()) - logits.begin();
  return sample(logits);
}

// Temperature, top-k, top-p, min-p (transformers' warper order), then a draw from what
// is left. Removed tokens are simply absent from `order_`.
int64_t TokenSampler::sample(std::span<float> logits) {
  const float inv_temperature = static_cast<float>(1.0 / params_.temperature);
  for (float& value : logits) value *= inv_temperature;

  order_.resize(logits.size());
  std::iota(order_.begin(), order_.end(), 0);
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t kept = order_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < kept) {
    std::nth_element(order_.begin(), order_.begin() + params_.top_k - 1, order_.end(), by_logit);
    // Ties with the k-th logit stay, as transformers keeps scores ≥ the k-th value.
    const float kth = logits[order_[params_.top_k - 1]];
    kept = std::partition(order_.begin(), order_.end(), [&](int32_t i) { return logits[i] >= kth; }) -
           order_.begin();
  }
  std::sort(order_.begin(), order_.begin() + kept, by_logit);
  order_.resize(kept);

  // Probabilities of the kept tokens (softmax over them equals softmax over all, restricted
  // and renormalised, which is what transformers' -inf filtering computes).
  const float top = logits[order_[0]];
  std::vector<double> probs(kept);
  double total = 0;
  for (size_t i = 0; i < kept; ++i) total += probs[i] = std::exp(double(logits[order_[i]]) - top);
  for (double& p : probs) p /= total;

  if (params_.top_p < 1.0) {
    // transformers removes the ascending-sorted tokens whose cumulative probability is
    // ≤ 1 - top_p: from the top, keep tokens until the mass after them would fall below.
    double below = 1.0;
    size_t keep = kept;
    for (size_t i = 0; i < kept; ++i) {
      below -= probs[i];
      if (below <= 1.0 - params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    kept = std::max<size_t>(keep, 1);
  }
  if (params_.min_p > 0) {
    const double threshold = params_.min_p * probs[0];
    size_t keep = 1;
    while (keep < kept && probs[keep] >= threshold) ++keep;
    kept = keep;
  }
  double mass = 0;
  for (size_t i = 0; i < kept; ++i) mass += probs[i];
  const double u = std::uniform_real_distribution<double>(0.0, mass)(rng_);
  double cumulative = 0;
  for (size_t i = 0; i < kept; ++i) {
    cumulative += probs[i];
    if (u < cumulative) return order_[i];
  }
  return order_[kept - 1];
}

}  // namespace lmf::torch_backend
