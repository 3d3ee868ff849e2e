// The checks every AWQ entry point makes on what it is given, so that a bad layer fails
// with a message naming the layer and the field instead of a torch assertion.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace lmf::quant::awq {

struct AwqOptions;

// `layer "<layer>"`, the prefix of every message.
std::string layer_label(std::string_view layer);

// Throws lmf::sdk::Error (LMF_ERR_INVALID_ARGUMENT) unless `t` is a 2-D floating tensor;
// `what` names it ("calibration inputs", "weights[1]").
void expect_matrix(const torch::Tensor& t, std::string_view layer, std::string_view what);

// Throws lmf::sdk::Error (LMF_ERR_INVALID_ARGUMENT) when `inputs` has fewer rows (tokens)
// than options.min_tokens (Note [Too few tokens]).
void expect_enough_tokens(const torch::Tensor& inputs, const AwqOptions& options,
                          std::string_view layer);

// Throws lmf::sdk::Error (LMF_ERR_DATA) naming the first NaN or Inf element of `t` [rows, cols].
void expect_finite(const torch::Tensor& t, std::string_view layer, std::string_view what);

}  // namespace lmf::quant::awq
