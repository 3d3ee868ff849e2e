// What the awq tests share: AutoAWQ's grid written again, plainly, in double (so that tests
// compare the library with something it did not compute), and a check that an error names
// what it should.
#pragma once

#include "plugins/quantizer/common/quantized_codes.h"

#include <gtest/gtest.h>
#include <lmf/sdk/error.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <initializer_list>
#include <string>
#include <type_traits>

namespace lmf::quant::awq::testing {

// AutoAWQ's zero-point pseudo-quantization of `w` [out, in] with groups of `group` columns,
// element by element in `Real` arithmetic: scale = max(M − m, 1e-5)/15, z = clamp(−round(m /
// scale), 0, 15), ŵ = (clamp(round(w/scale) + z, 0, 15) − z)·scale, round half to even.
// In float it rounds as torch's float32 ops do (each step one IEEE operation), so it agrees
// with the library at near-ties too; in double it is the exact-arithmetic reference.
template <class Real = double>
torch::Tensor reference_pseudo_quantize(const torch::Tensor& weight, int64_t group) {
  constexpr auto kType = std::is_same_v<Real, float> ? torch::kFloat32 : torch::kFloat64;
  const torch::Tensor w = weight.to(kType).contiguous();
  torch::Tensor out = torch::empty_like(w);
  const int64_t rows = w.size(0), cols = w.size(1);
  const Real* in = w.data_ptr<Real>();
  Real* q = out.data_ptr<Real>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < cols; g += group) {
      const Real* first = in + r * cols + g;
      const Real high = *std::max_element(first, first + group);
      const Real low = *std::min_element(first, first + group);
      const Real scale =
          std::max<Real>(high - low, static_cast<Real>(1e-5)) / static_cast<Real>(15);
      const Real zero = std::clamp<Real>(-std::nearbyint(low / scale), 0, 15);
      for (int64_t i = 0; i < group; ++i) {
        const Real code = std::clamp<Real>(std::nearbyint(first[i] / scale) + zero, 0, 15);
        q[r * cols + g + i] = (code - zero) * scale;
      }
    }
  return out;
}

// mean over tokens and outputs of (x·Wᵀ − x·Ŵᵀ)², in double.
inline double mean_output_error(const torch::Tensor& x, const torch::Tensor& w,
                                const torch::Tensor& w_hat) {
  const torch::Tensor y = x.to(torch::kFloat64).matmul(w.to(torch::kFloat64).t());
  const torch::Tensor y_hat = x.to(torch::kFloat64).matmul(w_hat.to(torch::kFloat64).t());
  return (y - y_hat).square().mean().item<double>();
}

// Expects `run` to throw lmf::sdk::Error whose message holds every one of `parts`.
inline void expect_error(const std::function<void()>& run,
                         std::initializer_list<std::string> parts) {
  try {
    run();
    ADD_FAILURE() << "no error; expected one mentioning " << *parts.begin();
  } catch (const lmf::sdk::Error& error) {
    const std::string message = error.what();
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "\"" << message << "\" lacks " << part;
  }
}

}  // namespace lmf::quant::awq::testing
