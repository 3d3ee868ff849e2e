#include "rope.h"

#include "fused_ops.h"

#include <cmath>

namespace lmf::torch_backend {

// Note [RoPE scaling]
// default: inv_freq[i] = 1 / theta^(2i/D).  linear: inv_freq / factor (positions
// interpolated).  llama3 (Llama-3.1): wavelengths 2π/inv_freq longer than
// original_max_position_embeddings / low_freq_factor are divided by factor, those shorter
// than original / high_freq_factor kept, and the band between interpolated smoothly.
// Computed with fp32 tensor operations in transformers' order, so that the frequencies
// are bit-identical to its rotary embedding.
torch::Tensor rope_inverse_frequencies(const ModelConfig& config) {
  const int64_t dim = config.head_dim;
  torch::Tensor exponents =
      torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  torch::Tensor inv_freq = 1.0 / torch::pow(config.rope_theta, exponents);
  const RopeScaling& scaling = config.rope_scaling;
  if (scaling.type == "linear") return inv_freq / scaling.factor;
  if (scaling.type != "llama3") return inv_freq;

  const double old_context = static_cast<double>(scaling.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / scaling.low_freq_factor;
  const double high_freq_wavelen = old_context / scaling.high_freq_factor;
  torch::Tensor wavelen = 2 * M_PI / inv_freq;
  torch::Tensor scaled = torch::where(wavelen > low_freq_wavelen, inv_freq / scaling.factor, inv_freq);
  torch::Tensor smooth = (old_context / wavelen - scaling.low_freq_factor) /
                         (scaling.high_freq_factor - scaling.low_freq_factor);
  torch::Tensor smoothed = (1 - smooth) * scaled / scaling.factor + smooth * scaled;
  torch::Tensor is_medium =
      (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
  return torch::where(is_medium, smoothed, scaled);
}

RotaryTable::RotaryTable(const ModelConfig& config, torch::Device device)
    : inv_freq_(rope_inverse_frequencies(config).to(device)) {
  reserve(std::min<int64_t>(config.max_position_embeddings, 8192));
}

void RotaryTable::reserve(int64_t positions) {
  if (cos_.defined() && cos_.size(0) >= positions) return;
  torch::Tensor steps = torch::arange(positions, inv_freq_.options()).to(torch::kFloat32);
  torch::Tensor freqs = torch::outer(steps, inv_freq_);
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  cos_ = emb.cos();
  sin_ = emb.sin();
  ++reallocations_;
}

namespace {
torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}
}  // namespace

RotaryTable::Angles RotaryTable::angles(const torch::Tensor& positions, torch::ScalarType dtype) const {
  // [B,T,D] -> [B,1,T,D], cast to the activations' dtype as transformers casts them.
  return {cos_.index({positions}).unsqueeze(1).to(dtype), sin_.index({positions}).unsqueeze(1).to(dtype)};
}

std::pair<torch::Tensor, torch::Tensor> RotaryTable::rotate(const torch::Tensor& q, const torch::Tensor& k,
                                                            const Angles& angles, bool fused) {
  if (fused && fused::rope_applies(q, angles.cos, angles.sin) &&
      fused::rope_applies(k, angles.cos, angles.sin))
    return {fused::rope(q, angles.cos, angles.sin), fused::rope(k, angles.cos, angles.sin)};
  return {q * angles.cos + rotate_half(q) * angles.sin, k * angles.cos + rotate_half(k) * angles.sin};
}

}  // namespace lmf::torch_backend
