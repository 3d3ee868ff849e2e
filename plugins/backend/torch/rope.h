// Rotary position embeddings: the inverse frequencies (with the RoPE scaling of
// config.json) and a cos/sin table indexed by position.
#pragma once

#include "model_config.h"

#include <torch/torch.h>

namespace lmf::torch_backend {

// inv_freq [head_dim / 2], fp32, computed as transformers computes it.
torch::Tensor rope_inverse_frequencies(const ModelConfig& config);

class RotaryTable {
 public:
  RotaryTable(const ModelConfig& config, torch::Device device);

  // Makes the table cover positions [0, count). The caller knows the largest position
  // without reading it back from the device (which would synchronize every step).
  void reserve(int64_t count);
  // How often reserve() has replaced the table (a captured CUDA graph reads the old one).
  int64_t reallocations() const { return reallocations_; }

  struct Angles {
    torch::Tensor cos, sin;  // [B,1,T,D] in the activations' dtype
  };
  // The angles of positions [B,T] (int64, all below the reserved count), computed once
  // per forward pass and shared by every layer.
  Angles angles(const torch::Tensor& positions, torch::ScalarType dtype) const;

  // Rotates q [B,H,T,D] and k [B,KV,T,D] by `angles`, as transformers' apply_rotary_pos_emb.
  // `fused`: with the fused CUDA kernel where it applies (the same values).
  static std::pair<torch::Tensor, torch::Tensor> rotate(const torch::Tensor& q, const torch::Tensor& k,
                                                        const Angles& angles, bool fused = false);

 private:
  torch::Tensor inv_freq_;  // fp32 [D/2]
  torch::Tensor cos_, sin_;  // fp32 [P, D]
  int64_t reallocations_ = 0;
};

}  // namespace lmf::torch_backend
