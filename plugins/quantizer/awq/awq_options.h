// The settings of AWQ's searches and grid (Lin et al., "AWQ: Activation-aware Weight
// Quantization for LLM Compression and Acceleration", 2023), with AutoAWQ's defaults.
#pragma once

#include <cstdint>
#include <string_view>

namespace lmf::quant::awq {

struct AwqOptions {
  int bits = 4;               // 4 only: the GEMM layout packs eight 4-bit codes per int32
  int64_t group_size = 128;   // input columns per grid; -1: one grid per output row
  bool zero_point = true;     // asymmetric grid w = (q − z)·scale; false: symmetric, no zero
  int scale_grid = 20;        // scale search: ratios r = k / scale_grid, k = 0 … scale_grid − 1
  bool duo_scaling = true;    // s = x_mean^r / w_mean^(1−r); false: s = x_mean^r
  double max_shrink = 0.5;    // clip search: thresholds max|w|·(1 − k/clip_grid) while
  int clip_grid = 20;         //   k < max_shrink·clip_grid (0.55 … 1.0 of max|w| by default)
  int64_t clip_tokens = 512;  // clip search: about this many tokens, every ⌊tokens/512⌋-th
  int64_t min_tokens = 32;    // fewer calibration tokens are refused (Note [Too few tokens])
  int64_t token_chunk = 4096;  // scale search: tokens per matmul when measuring a loss
};

// Note [Too few tokens]
// AWQ ranks input channels by their mean |x| over the calibration tokens; from a handful of
// tokens that ranking is noise and the search fits it. AutoAWQ has no floor (its default
// calibration is 128 samples × 512 tokens); we refuse fewer than min_tokens so that a
// mis-wired calibration (an empty batch, one prompt) fails with a message instead of
// quietly producing a poor model.

// The number of columns of one group for a layer with `in_features` inputs.
inline int64_t group_columns(const AwqOptions& options, int64_t in_features) {
  return options.group_size > 0 ? options.group_size : in_features;
}

// Throws lmf::sdk::Error (LMF_ERR_INVALID_ARGUMENT) naming `layer` and the field out of range,
// and a group size that does not divide `in_features` (when in_features > 0).
void validate(const AwqOptions& options, std::string_view layer, int64_t in_features = 0);

}  // namespace lmf::quant::awq
