// AWQ's per-input-channel scale search (AutoAWQ's AwqQuantizer._search_best_scale and
// _compute_best_scale): for linears that read the same input x (q, k and v; gate and up;
// …), find s [in] such that quantizing W·diag(s) and computing (x / s)·Q(W·s)ᵀ loses least.
// The caller then folds 1/s into what produces x (an RMSNorm's weight, v_proj's or up_proj's
// rows) so the model computes the same function, and stores Q(W·s).
#pragma once

#include "awq_options.h"

#include <torch/torch.h>

#include <functional>
#include <string_view>
#include <vector>

namespace lmf::quant::awq {

// Note [AWQ scale search]
// With x̄ the mean |x| of each input channel over the calibration tokens and w̄ the mean,
// over the output rows of every linear of the group, of |w| / (max |w| of its quantization
// group + 1e-6), each ratio r = k / scale_grid (k = 0 … scale_grid − 1) proposes
//   s = max(x̄^r / (w̄^(1−r) + 1e-4), 1e-4)   (duo scaling, AutoAWQ's default)
//   s = max(x̄^r, 1e-4)                       (duo_scaling false)
// divided by √(max s · min s), with any Inf/NaN set to 1; the r whose s gives the least loss
// wins (the first on a tie). Channels with large activations get s > 1: their weights
// take a larger share of their group's range and lose less to rounding. With duo_scaling
// false, r = 0 is s = 1, no scaling; with duo scaling it is s ∝ 1/(w̄ + 1e-4).
//
// Note [Local scale loss]
// AutoAWQ measures a ratio on the output of `module2inspect`: the whole attention block for
// q/k/v (softmax, rotary and o_proj included), the whole MLP for gate/up, and the linear
// itself for o_proj (scaled through v_proj) and down_proj (through up_proj). The loss here
// is the mean, over tokens and over every output of every linear in the group, of
//   ((x·Wᵀ) − (x/s)·Q(W·s)ᵀ)²,
// the group's own outputs: exactly AutoAWQ's loss for o_proj and down_proj, and for q/k/v
// and gate/up the error before it passes through attention or the activation. A quantizer
// plugin sees linears and their inputs, not the modules around them (the backend owns
// those), so this is the loss it can compute; search_ratios takes any loss, so a backend
// that can run the module may pass AutoAWQ's instead.

// The mean |x| of each input channel of `inputs` [tokens, in], float32 [in].
torch::Tensor activation_mean(const torch::Tensor& inputs);

// w̄ of Note [AWQ scale search] for `weights` (each [out_j, in]), float32 [in].
torch::Tensor weight_mean(const std::vector<torch::Tensor>& weights, const AwqOptions& options);

// The scales that ratio `ratio` proposes (Note [AWQ scale search]), float32 [in].
torch::Tensor ratio_scales(const torch::Tensor& x_mean, const torch::Tensor& w_mean, double ratio,
                           bool duo_scaling);

struct ScaleSearchResult {
  torch::Tensor scales;   // [in] float32: the best ratio's s
  double best_ratio = 0;  // best_index / scale_grid
  int best_index = 0;
  std::vector<double> losses;  // the loss of each ratio k / scale_grid, k = 0 … scale_grid − 1
};

// A ratio's loss, given its scales [in].
using ScaleLoss = std::function<double(const torch::Tensor& scales)>;

// The search of Note [AWQ scale search] with any loss. Throws lmf::sdk::Error naming
// `layer` when no ratio has a finite loss.
ScaleSearchResult search_ratios(const torch::Tensor& x_mean, const torch::Tensor& w_mean,
                                const AwqOptions& options, const ScaleLoss& loss,
                                std::string_view layer);

// Note [Local scale loss] for the group `weights` on `inputs` with scales `scales`, as a
// double; `token_chunk` rows at a time. No checks (search_scales makes them).
double group_output_loss(const torch::Tensor& inputs, const std::vector<torch::Tensor>& weights,
                         const torch::Tensor& scales, const AwqOptions& options);

// The whole search for linears reading `inputs` [tokens, in] with `weights` (each [out_j, in],
// any floating dtype; moved to the inputs' device and computed in float32), with the loss
// of Note [Local scale loss]. `layer` names the group in errors ("blk.0.self_attn.qkv").
// Throws lmf::sdk::Error naming the layer and the field: bits other than 4, a group size not
// dividing in, no weights, in_features that differ, NaN/Inf in inputs or weights (with the
// element), fewer than min_tokens tokens.
ScaleSearchResult search_scales(const torch::Tensor& inputs,
                                const std::vector<torch::Tensor>& weights,
                                const AwqOptions& options, std::string_view layer);

// W·diag(s): what is quantized and stored once s is chosen (float32, on the weight's device).
torch::Tensor scale_weight(const torch::Tensor& weight, const torch::Tensor& scales);

// x / s: the inputs the scaled weights see once 1/s is folded into the previous operation;
// what the clip search runs on (AutoAWQ's apply_scale divides its cached inputs so).
torch::Tensor scale_inputs(const torch::Tensor& inputs, const torch::Tensor& scales);

}  // namespace lmf::quant::awq
