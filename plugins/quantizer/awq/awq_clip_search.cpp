#include "awq_clip_search.h"

#include "awq_checks.h"
#include "awq_grid.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <array>
#include <limits>
#include <string>

namespace lmf::quant::awq {
namespace {

using lmf::sdk::fail;

// Output rows per batch: the batch's outputs are [groups, sampled tokens, rows] floats,
// 64 MiB for a 4096-wide layer with 512 tokens (AutoAWQ batches 256 or 64 rows likewise).
constexpr int64_t kRowBatch = 256;

// The clipped thresholds' search for rows `w` [rows, in] on `xg` [groups, tokens, group].
torch::Tensor search_rows(const torch::Tensor& w, const torch::Tensor& xg,
                          const AwqOptions& options) {
  const int64_t rows = w.size(0), groups = xg.size(0), group = xg.size(2);
  const torch::Tensor wg = w.reshape({rows, groups, group});
  // [groups, group, rows]: one bmm gives every group's partial outputs for every row.
  const auto outputs = [&](const torch::Tensor& grouped) {
    return torch::bmm(xg, grouped.permute({1, 2, 0}));  // [groups, tokens, rows]
  };
  const torch::Tensor reference = outputs(wg);
  const torch::Tensor original = wg.abs().amax(2);  // [rows, groups]
  torch::Tensor best = original.clone();
  torch::Tensor least = torch::full_like(original, std::numeric_limits<float>::infinity());
  const int steps = static_cast<int>(options.max_shrink * options.clip_grid);
  for (int k = 0; k < steps; ++k) {
    const torch::Tensor threshold = original * (1.0 - static_cast<double>(k) / options.clip_grid);
    const torch::Tensor bound = threshold.unsqueeze(2);
    const torch::Tensor clipped = torch::max(torch::min(wg, bound), -bound);
    const torch::Tensor quantized =
        pseudo_quantize(clipped.reshape({rows, groups * group}), options)
            .reshape({rows, groups, group});
    const torch::Tensor error = (outputs(quantized) - reference).square().mean(1).t();
    const torch::Tensor better = error < least;
    least = torch::where(better, error, least);
    best = torch::where(better, threshold, best);
  }
  return best;
}

}  // namespace

bool avoids_clipping(std::string_view linear_name) {
  static constexpr std::array<std::string_view, 5> kAvoided{"q_", "k_", "query", "key", "Wqkv"};
  return std::any_of(kAvoided.begin(), kAvoided.end(), [&](std::string_view part) {
    return linear_name.find(part) != std::string_view::npos;
  });
}

torch::Tensor clip_token_sample(const torch::Tensor& inputs, int64_t clip_tokens) {
  const int64_t step = std::max<int64_t>(1, inputs.size(0) / clip_tokens);
  return inputs.slice(0, 0, inputs.size(0), step);
}

torch::Tensor apply_clip(const torch::Tensor& weight, const torch::Tensor& max_val,
                         const AwqOptions& options) {
  const int64_t rows = weight.size(0), columns = weight.size(1);
  const int64_t group = group_columns(options, columns);
  const torch::Tensor bound = max_val.to(weight.device(), torch::kFloat).unsqueeze(2);
  const torch::Tensor grouped = weight.to(torch::kFloat).reshape({rows, columns / group, group});
  return torch::max(torch::min(grouped, bound), -bound).reshape({rows, columns});
}

ClipSearchResult search_clip(const torch::Tensor& weight, const torch::Tensor& inputs,
                             const AwqOptions& options, std::string_view layer, bool skip) {
  expect_matrix(weight, layer, "weight");
  expect_matrix(inputs, layer, "calibration inputs");
  const int64_t rows = weight.size(0), columns = weight.size(1);
  validate(options, layer, columns);
  if (inputs.size(1) != columns)
    fail(LMF_ERR_INVALID_ARGUMENT,
         layer_label(layer) + ": calibration inputs have " + std::to_string(inputs.size(1)) +
             " columns, the weight's in_features is " + std::to_string(columns));
  expect_enough_tokens(inputs, options, layer);
  expect_finite(weight, layer, "weight");
  expect_finite(inputs, layer, "calibration inputs");

  const int64_t group = group_columns(options, columns), groups = columns / group;
  const torch::Tensor w = weight.to(inputs.device(), torch::kFloat);
  ClipSearchResult result;
  if (skip) {
    result.max_val = w.reshape({rows, groups, group}).abs().amax(2);
    result.weight = w;
    return result;
  }
  const torch::Tensor x = clip_token_sample(inputs, options.clip_tokens).to(torch::kFloat);
  const torch::Tensor xg = x.reshape({x.size(0), groups, group}).permute({1, 0, 2}).contiguous();
  std::vector<torch::Tensor> batches;
  for (const torch::Tensor& batch : w.split(kRowBatch))
    batches.push_back(search_rows(batch, xg, options));
  result.max_val = torch::cat(batches, 0);
  result.weight = apply_clip(w, result.max_val, options);
  result.searched = true;
  return result;
}

}  // namespace lmf::quant::awq
