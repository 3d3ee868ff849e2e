// AWQ's clipping search (AutoAWQ's AwqQuantizer._search_best_clip and _compute_best_clip):
// per output row and quantization group, the clip threshold max|w|·(1 − k/clip_grid) whose
// quantized weights keep the group's share of the outputs closest to the unclipped ones.
#pragma once

#include "awq_options.h"

#include <torch/torch.h>

#include <string_view>

namespace lmf::quant::awq {

// Note [AWQ clip search]
// Run after the scale search, on W·diag(s) and x / s (AutoAWQ applies the scales, dividing
// its cached inputs, before it clips). For every output row o and group g, with t the
// tokens x[::⌊tokens/clip_tokens⌋] (at least every token) and y_t = Σ_{i∈g} x_ti·w_oi the
// group's part of output o, each k = 0 … ⌊max_shrink·clip_grid⌋ − 1 gives a threshold
// c = max_{i∈g}|w_oi|·(1 − k/clip_grid); the weights clamped to [−c, c] are quantized
// (Note [AWQ grid], reference rule) into ŷ, and the k with the least mean_t (ŷ_t − y_t)²
// wins, the first on a tie. k = 0 is no clipping, so the chosen error is never above the
// unclipped one. AutoAWQ starts from an error of 1e9 (so a group whose error is at least
// 1e9 keeps no clipping); we start from +∞ (such a group gets its best threshold).
// AutoAWQ skips q and k projections ("due to qk bmm, it is hard to clip precisely"):
// avoids_clipping says which names, search_clip's `skip` obeys it.

struct ClipSearchResult {
  torch::Tensor max_val;  // [out, groups] float32: the chosen thresholds (max|w| when skipped)
  torch::Tensor weight;   // [out, in] float32: the weight clamped to ±max_val, group by group
  bool searched = false;  // false when skipped
};

// AutoAWQ's rule: names containing "q_", "k_", "query", "key" or "Wqkv" are not clipped.
bool avoids_clipping(std::string_view linear_name);

// The tokens the search uses: every ⌊tokens / clip_tokens⌋-th row of `inputs` (at least 1).
torch::Tensor clip_token_sample(const torch::Tensor& inputs, int64_t clip_tokens);

// Searches thresholds for `weight` [out, in] on `inputs` [tokens, in] (any floating dtype;
// computed in float32 on the inputs' device, in batches of output rows). With `skip` the
// weight comes back unclipped. Throws lmf::sdk::Error naming `layer` and the field for bad
// options, mismatched shapes, NaN/Inf, fewer than min_tokens tokens.
ClipSearchResult search_clip(const torch::Tensor& weight, const torch::Tensor& inputs,
                             const AwqOptions& options, std::string_view layer, bool skip = false);

// `weight` [out, in] clamped to ±max_val [out, groups], group by group (AutoAWQ's apply_clip).
torch::Tensor apply_clip(const torch::Tensor& weight, const torch::Tensor& max_val,
                         const AwqOptions& options);

}  // namespace lmf::quant::awq
