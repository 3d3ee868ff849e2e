// Shared by the LoRA tests: the backend's fixture models (tests/fixtures/backend) loaded
// for parity (fp32, CPU, eager attention) with or without fused projections, a forward
// pass, the causal-LM loss written out plainly, and adapter weights set to seeded values.
#pragma once

#include "tests/backend_torch/backend_test_support.h"
#include "tests/support/temp_dir.h"
#include "training/lora.h"

#include <stdexcept>
#include <string>

namespace lmf::torch_backend::testing {

// `model`: a fixture's name (tests/fixtures/backend/<name>) or a folder's path.
inline std::unique_ptr<LoadedModel> load_model(const std::string& model, bool fused,
                                               const std::string& dtype = "float32") {
  LoadOptions options;
  options.device = "cpu";
  options.dtype = dtype;
  options.fused_attention = false;
  options.fuse_projections = fused ? "on" : "off";
  options.tokenizer = "";
  return LoadedModel::load(model.find('/') == std::string::npos ? fixture(model) : model, options);
}

// Logits [B, T, vocab] of a batch without padding (autograd on when the caller's is).
inline torch::Tensor forward_logits(LoadedModel& model, const torch::Tensor& ids) {
  const int64_t steps = ids.size(1);
  torch::Tensor positions = torch::arange(steps, torch::kInt64).expand({ids.size(0), steps});
  return model.decoder->logits(
      model.decoder->hidden_states(ids, ForwardContext{positions, {}, nullptr, steps}));
}

inline torch::Tensor logits_without_grad(LoadedModel& model, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  return forward_logits(model, ids);
}

// transformers' causal-LM loss with labels = input_ids: the mean over every position but
// the last of -log softmax(logits)[next token].
inline torch::Tensor causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& ids) {
  const int64_t vocab = logits.size(-1), steps = ids.size(1);
  torch::Tensor log_probs =
      torch::log_softmax(logits.narrow(1, 0, steps - 1).reshape({-1, vocab}), -1);
  torch::Tensor next = ids.narrow(1, 1, steps - 1).reshape({-1, 1});
  return -log_probs.gather(1, next).mean();
}

// Seeded token ids in [3, 128): the fixture models' vocabulary, without bos/eos/pad.
inline torch::Tensor token_batch(uint64_t seed, int64_t rows = 2, int64_t steps = 10) {
  torch::manual_seed(seed);
  return torch::randint(3, 128, {rows, steps}, torch::kInt64);
}

// Overwrites every A and B with seeded normal values (B no longer zero, so the adapters
// change the model).
inline void randomize_adapters(const LoraAdapters& adapters, uint64_t seed, double scale = 0.1) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (const auto& [name, tensor] : adapters.parameters())
    tensor.copy_(torch::randn(tensor.sizes()) * scale);
}

inline Linear& find_linear(LoadedModel& model, const std::string& module) {
  Linear* found = nullptr;
  model.decoder->for_each_linear([&](const std::string& name, Linear& linear) {
    if (name == module) found = &linear;
  });
  if (found == nullptr) throw std::runtime_error("no projection " + module);
  return *found;
}

// The message of what `body` throws, or "" when it throws nothing.
template <typename Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace lmf::torch_backend::testing
