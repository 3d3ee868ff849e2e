#include "awq_grid.h"

#include "awq_checks.h"

#include <lmf/sdk/error.h>

#include <vector>

namespace lmf::quant::awq {
namespace {

using lmf::sdk::fail;

// The grid of every (row, group) of `groups` [rows · groups, group_size], reference rule.
struct Grid {
  torch::Tensor scale, zero;  // [rows · groups, 1]
};

Grid fit(const torch::Tensor& groups, const AwqOptions& options, GridRule rule) {
  Grid grid;
  if (options.zero_point) {
    const torch::Tensor high = groups.amax(1, true), low = groups.amin(1, true);
    grid.scale = (high - low).clamp_min(1e-5) / 15.0;
    if (rule == GridRule::kCheckpoint) grid.scale = grid.scale.to(torch::kHalf).to(torch::kFloat);
    grid.zero = (-torch::round(low / grid.scale)).clamp(0.0, 15.0);
  } else {
    grid.scale = groups.abs().amax(1, true).clamp_min(1e-5) / 7.0;
    if (rule == GridRule::kCheckpoint) grid.scale = grid.scale.to(torch::kHalf).to(torch::kFloat);
    grid.zero = torch::zeros_like(grid.scale);
  }
  return grid;
}

torch::Tensor codes_on(const torch::Tensor& groups, const Grid& grid, const AwqOptions& options) {
  if (options.zero_point)
    return torch::clamp(torch::round(groups / grid.scale) + grid.zero, 0.0, 15.0);
  return torch::clamp(torch::round(groups / grid.scale), -8.0, 7.0);
}

}  // namespace

torch::Tensor pseudo_quantize(const torch::Tensor& weight, const AwqOptions& options) {
  const torch::Tensor groups =
      weight.to(torch::kFloat).reshape({-1, group_columns(options, weight.size(1))});
  const Grid grid = fit(groups, options, GridRule::kReference);
  return ((codes_on(groups, grid, options) - grid.zero) * grid.scale).reshape(weight.sizes());
}

AwqQuantized quantize_groups(const torch::Tensor& weight, const AwqOptions& options, GridRule rule,
                             std::string_view layer) {
  expect_matrix(weight, layer, "weight");
  validate(options, layer, weight.size(1));
  expect_finite(weight, layer, "weight");
  const int64_t rows = weight.size(0), columns = weight.size(1);
  const int64_t group = group_columns(options, columns);
  const torch::Tensor groups = weight.to(torch::kFloat).reshape({-1, group});
  const Grid grid = fit(groups, options, rule);
  if (!torch::isfinite(grid.scale).all().item<bool>())
    fail(LMF_ERR_DATA, layer_label(layer) +
                           ": scales: a group's range exceeds what an fp16 scale holds "
                           "(65504 · 15): are the AWQ scales s far too large?");
  const torch::Tensor codes = codes_on(groups, grid, options);
  AwqQuantized out;
  out.codes = codes.reshape({rows, columns});
  out.scales = grid.scale.reshape({rows, columns / group});
  out.zeros = grid.zero.reshape({rows, columns / group});
  out.dequantized = ((codes - grid.zero) * grid.scale).reshape({rows, columns});
  return out;
}

QuantizedCodes to_quantized_codes(const AwqQuantized& quantized, const AwqOptions& options,
                                  std::string_view layer) {
  if (!options.zero_point)
    fail(LMF_ERR_INVALID_ARGUMENT,
         layer_label(layer) +
             ": zero_point false: AutoAWQ's GEMM layout stores only grids "
             "with a zero point");
  QuantizedCodes q;
  q.bits = options.bits;
  q.group_size = options.group_size;
  q.sym = false;
  q.out_features = quantized.codes.size(0);
  q.in_features = quantized.codes.size(1);
  const torch::Tensor codes = quantized.codes.to(torch::kCPU, torch::kUInt8).contiguous();
  q.codes.assign(codes.data_ptr<uint8_t>(), codes.data_ptr<uint8_t>() + codes.numel());
  const torch::Tensor scales = quantized.scales.t().to(torch::kCPU, torch::kFloat).contiguous();
  q.scales.assign(scales.data_ptr<float>(), scales.data_ptr<float>() + scales.numel());
  const torch::Tensor zeros = quantized.zeros.t().to(torch::kCPU, torch::kInt).contiguous();
  q.zeros.assign(zeros.data_ptr<int32_t>(), zeros.data_ptr<int32_t>() + zeros.numel());
  const int64_t group = group_columns(options, q.in_features);
  for (int64_t i = 0; i < q.in_features; ++i) q.g_idx.push_back(static_cast<int32_t>(i / group));
  return q;
}

}  // namespace lmf::quant::awq
