// What the gptq tests share: calibration inputs with the correlations of real activations,
// round-to-nearest on the same grids, and the layer output error. Written here, apart from
// the solver, so that the tests compare it with something it did not compute.
#pragma once

#include "plugins/quantizer/common/gptq_grid.h"
#include "plugins/quantizer/common/quantized_codes.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace lmf::quant::gptq::testing {

// Inputs of low effective rank (in / 8 latent directions plus a little noise) with column
// scales spanning e^±1, as a transformer's hidden states are: `tokens` rows drawn from the
// distribution that `seed` picks. Rows [0, tokens/2) and [tokens/2, tokens) are independent
// samples of it (calibration and held-out).
inline torch::Tensor correlated_inputs(int64_t tokens, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t latent = std::max<int64_t>(in / 8, 1);
  const torch::Tensor mixing = torch::randn({latent, in}) / std::sqrt(static_cast<double>(latent));
  const torch::Tensor column_scales = torch::exp(torch::rand({in}) * 2 - 1);
  const torch::Tensor x =
      torch::randn({tokens, latent}).matmul(mixing) + 0.1 * torch::randn({tokens, in});
  return x * column_scales;
}

// A [out, in] weight like a trained layer's: Gaussian with row scales spanning e^±1.
inline torch::Tensor gaussian_weight(int64_t out, int64_t in, uint64_t seed) {
  torch::manual_seed(seed + 7919);
  return 0.02 * torch::randn({out, in}) * torch::exp(torch::rand({out, 1}) * 2 - 1);
}

// w[o][i] = scales[g][o] * (codes[o][i] - zeros[g][o]) with g = g_idx[i], in double.
inline torch::Tensor dequantize(const QuantizedCodes& q) {
  torch::Tensor w = torch::empty({q.out_features, q.in_features}, torch::kFloat64);
  double* out = w.data_ptr<double>();
  for (int64_t o = 0; o < q.out_features; ++o)
    for (int64_t i = 0; i < q.in_features; ++i) {
      const size_t at = static_cast<size_t>(q.g_idx[static_cast<size_t>(i)] * q.out_features + o);
      out[o * q.in_features + i] =
          static_cast<double>(q.scales[at]) *
          (q.codes[static_cast<size_t>(o * q.in_features + i)] - q.zeros[at]);
    }
  return w;
}

// Round-to-nearest on the GPTQ layout's grid (gptq_grid, grid_code), groups of consecutive
// columns: what RTN stores at the same bits and group size.
inline QuantizedCodes round_to_nearest(const torch::Tensor& weight, int bits, int64_t group_size,
                                       bool sym) {
  const torch::Tensor w = weight.to(torch::kFloat32).contiguous();
  QuantizedCodes q;
  q.bits = bits, q.group_size = group_size, q.sym = sym;
  q.out_features = w.size(0), q.in_features = w.size(1);
  const int64_t group = group_size > 0 ? group_size : q.in_features;
  const int64_t groups = (q.in_features + group - 1) / group;
  q.codes.resize(static_cast<size_t>(q.out_features * q.in_features));
  q.scales.resize(static_cast<size_t>(groups * q.out_features));
  q.zeros.resize(q.scales.size());
  for (int64_t i = 0; i < q.in_features; ++i) q.g_idx.push_back(static_cast<int32_t>(i / group));
  const float* values = w.data_ptr<float>();
  for (int64_t o = 0; o < q.out_features; ++o)
    for (int64_t g = 0; g < groups; ++g) {
      const float* first = values + o * q.in_features + g * group;
      const float* last = values + o * q.in_features + std::min(q.in_features, (g + 1) * group);
      const GridStep step =
          gptq_grid(*std::min_element(first, last), *std::max_element(first, last), bits, sym);
      q.scales[static_cast<size_t>(g * q.out_features + o)] = step.scale;
      q.zeros[static_cast<size_t>(g * q.out_features + o)] = step.zero;
      for (const float* v = first; v != last; ++v)
        q.codes[static_cast<size_t>(v - values)] = grid_code(*v, step, bits);
    }
  return q;
}

// ||X (W − Ŵ)ᵀ||_F in double: how far the layer's outputs on X move.
inline double output_error(const torch::Tensor& x, const torch::Tensor& w,
                           const torch::Tensor& w_hat) {
  const torch::Tensor diff = w.to(torch::kFloat64) - w_hat.to(torch::kFloat64);
  return x.to(torch::kFloat64).matmul(diff.t()).norm().item<double>();
}

}  // namespace lmf::quant::gptq::testing
