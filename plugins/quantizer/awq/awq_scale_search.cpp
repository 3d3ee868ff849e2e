#include "awq_scale_search.h"

#include "awq_checks.h"
#include "awq_grid.h"

#include <lmf/sdk/error.h>

#include <cmath>
#include <limits>
#include <string>

namespace lmf::quant::awq {

using lmf::sdk::fail;

torch::Tensor activation_mean(const torch::Tensor& inputs) {
  return inputs.to(torch::kFloat).abs().mean(0);
}

torch::Tensor weight_mean(const std::vector<torch::Tensor>& weights, const AwqOptions& options) {
  std::vector<torch::Tensor> rows;
  for (const torch::Tensor& w : weights) rows.push_back(w.to(torch::kFloat));
  const torch::Tensor all = torch::cat(rows, 0);
  const torch::Tensor groups = all.abs().reshape({-1, group_columns(options, all.size(1))});
  const torch::Tensor relative = groups / (groups.amax(1, true) + 1e-6);
  return relative.reshape(all.sizes()).mean(0);
}

torch::Tensor ratio_scales(const torch::Tensor& x_mean, const torch::Tensor& w_mean, double ratio,
                           bool duo_scaling) {
  torch::Tensor s =
      duo_scaling ? (x_mean.pow(ratio) / (w_mean.pow(1.0 - ratio) + 1e-4)) : x_mean.pow(ratio);
  s = s.clamp_min(1e-4);
  s = s / (s.max() * s.min()).sqrt();
  return s.masked_fill(torch::isfinite(s).logical_not(), 1.0);
}

ScaleSearchResult search_ratios(const torch::Tensor& x_mean, const torch::Tensor& w_mean,
                                const AwqOptions& options, const ScaleLoss& loss,
                                std::string_view layer) {
  ScaleSearchResult result;
  double best = std::numeric_limits<double>::infinity();
  result.best_index = -1;
  for (int k = 0; k < options.scale_grid; ++k) {
    const double ratio = static_cast<double>(k) / options.scale_grid;
    const torch::Tensor s = ratio_scales(x_mean, w_mean, ratio, options.duo_scaling);
    const double value = loss(s);
    result.losses.push_back(value);
    if (value < best) {  // strict: the first of equal losses wins, as in AutoAWQ
      best = value;
      result.best_index = k;
      result.best_ratio = ratio;
      result.scales = s;
    }
  }
  if (result.best_index < 0)
    fail(LMF_ERR_DATA, layer_label(layer) +
                           ": the AWQ scale search found no ratio with a finite loss: check "
                           "the calibration inputs and weights");
  return result;
}

double group_output_loss(const torch::Tensor& inputs, const std::vector<torch::Tensor>& weights,
                         const torch::Tensor& scales, const AwqOptions& options) {
  // x·Wᵀ − x·(Q(W·s)/s)ᵀ = x·ΔWᵀ: one matmul per chunk instead of two, and no cancellation
  // between two large outputs (AutoAWQ subtracts the outputs; the value is the same).
  const torch::Tensor s = scales.to(inputs.device(), torch::kFloat).reshape({1, -1});
  int64_t outputs = 0;
  std::vector<torch::Tensor> deltas;
  for (const torch::Tensor& w : weights) {
    const torch::Tensor w32 = w.to(inputs.device(), torch::kFloat);
    deltas.push_back(w32 - pseudo_quantize(w32 * s, options) / s);
    outputs += w.size(0);
  }
  const torch::Tensor delta_t = torch::cat(deltas, 0).t();
  double sum = 0.0;
  for (const torch::Tensor& chunk : inputs.split(options.token_chunk))
    sum += chunk.to(torch::kFloat).matmul(delta_t).square().sum(torch::kDouble).item<double>();
  return sum / (static_cast<double>(inputs.size(0)) * static_cast<double>(outputs));
}

ScaleSearchResult search_scales(const torch::Tensor& inputs,
                                const std::vector<torch::Tensor>& weights,
                                const AwqOptions& options, std::string_view layer) {
  expect_matrix(inputs, layer, "calibration inputs");
  const int64_t in = inputs.size(1);
  validate(options, layer, in);
  if (weights.empty())
    fail(LMF_ERR_INVALID_ARGUMENT, layer_label(layer) + ": no weights to search scales for");
  for (size_t j = 0; j < weights.size(); ++j) {
    const std::string what = "weights[" + std::to_string(j) + "]";
    expect_matrix(weights[j], layer, what);
    if (weights[j].size(1) != in)
      fail(LMF_ERR_INVALID_ARGUMENT, layer_label(layer) + ": " + what + " has in_features " +
                                         std::to_string(weights[j].size(1)) +
                                         ", the calibration inputs " + std::to_string(in));
  }
  expect_enough_tokens(inputs, options, layer);
  expect_finite(inputs, layer, "calibration inputs");
  for (size_t j = 0; j < weights.size(); ++j)
    expect_finite(weights[j], layer, "weights[" + std::to_string(j) + "]");

  std::vector<torch::Tensor> on_device;
  for (const torch::Tensor& w : weights) on_device.push_back(w.to(inputs.device(), torch::kFloat));
  const std::vector<torch::Tensor> all{torch::cat(on_device, 0)};
  const torch::Tensor x_mean = activation_mean(inputs);
  const torch::Tensor w_mean = weight_mean(all, options);
  return search_ratios(
      x_mean, w_mean, options,
      [&](const torch::Tensor& s) { return group_output_loss(inputs, all, s, options); }, layer);
}

torch::Tensor scale_weight(const torch::Tensor& weight, const torch::Tensor& scales) {
  return weight.to(torch::kFloat) * scales.to(weight.device(), torch::kFloat).reshape({1, -1});
}

torch::Tensor scale_inputs(const torch::Tensor& inputs, const torch::Tensor& scales) {
  return inputs.to(torch::kFloat) / scales.to(inputs.device(), torch::kFloat).reshape({1, -1});
}

}  // namespace lmf::quant::awq
