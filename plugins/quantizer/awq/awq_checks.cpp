#include "awq_checks.h"

#include "awq_options.h"

#include <lmf/sdk/error.h>

#include <cmath>

namespace lmf::quant::awq {

using lmf::sdk::fail;

std::string layer_label(std::string_view layer) {
  return "layer \"" + std::string(layer) + "\"";
}

void validate(const AwqOptions& options, std::string_view layer, int64_t in_features) {
  const std::string where = layer_label(layer) + ": ";
  if (options.bits != 4)
    fail(LMF_ERR_INVALID_ARGUMENT, where +
                                       "bits must be 4 (AutoAWQ's GEMM layout packs eight "
                                       "4-bit codes per int32), got " +
                                       std::to_string(options.bits));
  if (options.group_size == 0 || options.group_size < -1)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + "group_size must be -1 or positive, got " + std::to_string(options.group_size));
  if (in_features > 0 && options.group_size > 0 && in_features % options.group_size != 0)
    fail(LMF_ERR_INVALID_ARGUMENT, where + "group_size " + std::to_string(options.group_size) +
                                       " does not divide in_features " +
                                       std::to_string(in_features));
  if (options.scale_grid < 1)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + "scale_grid must be at least 1, got " + std::to_string(options.scale_grid));
  if (options.clip_grid < 1)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + "clip_grid must be at least 1, got " + std::to_string(options.clip_grid));
  if (!(options.max_shrink >= 0.0 && options.max_shrink < 1.0))
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + "max_shrink must be in [0, 1), got " + std::to_string(options.max_shrink));
  if (options.clip_tokens < 1 || options.min_tokens < 1 || options.token_chunk < 1)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + "clip_tokens, min_tokens and token_chunk must be at least 1");
}

void expect_matrix(const torch::Tensor& t, std::string_view layer, std::string_view what) {
  const std::string where = layer_label(layer) + ": " + std::string(what);
  if (!t.defined()) fail(LMF_ERR_INVALID_ARGUMENT, where + " is missing");
  if (t.dim() != 2)
    fail(LMF_ERR_INVALID_ARGUMENT,
         where + ": expected a 2-D tensor, got " + std::to_string(t.dim()) + " dimensions");
  if (!t.is_floating_point())
    fail(LMF_ERR_INVALID_ARGUMENT, where + ": expected a floating-point tensor");
}

void expect_enough_tokens(const torch::Tensor& inputs, const AwqOptions& options,
                          std::string_view layer) {
  if (inputs.size(0) < options.min_tokens)
    fail(LMF_ERR_INVALID_ARGUMENT,
         layer_label(layer) + ": calibration inputs: " + std::to_string(inputs.size(0)) +
             " tokens, AWQ needs at least min_tokens " + std::to_string(options.min_tokens) +
             " (Note [Too few tokens])");
}

void expect_finite(const torch::Tensor& t, std::string_view layer, std::string_view what) {
  const torch::Tensor bad = torch::isfinite(t).logical_not();
  if (!bad.any().item<bool>()) return;
  const torch::Tensor first = bad.nonzero()[0].cpu();
  const int64_t row = first[0].item<int64_t>(), col = first[1].item<int64_t>();
  const double value = t[row][col].item<double>();
  fail(LMF_ERR_DATA, layer_label(layer) + ": " + std::string(what) + " holds " +
                         (std::isnan(value) ? "NaN" : "Inf") + " at [" + std::to_string(row) +
                         ", " + std::to_string(col) + "]");
}

}  // namespace lmf::quant::awq
