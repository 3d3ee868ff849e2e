// The checks that stand in for the element bounds (Note [Error bounds]) on layers whose
// method moves weights off round-to-nearest on purpose: GPTQ's error feedback, AWQ's
// clipping (Note [Error feedback checks]).
#pragma once

#include "tests/conformance/quantizer/test_weights.h"

#include <lmf/lmf_quantizer.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace lmf::conformance {

// Note [Error feedback checks]
// GPTQ rounds one input column at a time and moves the columns not yet rounded to make up
// for its error (through the inverse Hessian of the calibration inputs), so a dequantized
// weight may lie several grid steps from the original: no element bound holds, and with it
// no bound on |x·Ŵᵀ − x·Wᵀ| for an arbitrary x. What holds, and what the suite checks for a
// layer whose format_json says "method": "gptq" (or "awq", below):
//   - on the grid: every ŵ of row o in input column i is scales[g][o] · k for an integer k,
//     g = g_idx[i] (i / group_size without a "g_idx" tensor), and the k of one (g, o) span at
//     most 2^bits − 1 levels, so one grid of the format holds them all;
//   - better than rounding: on the calibration inputs X given to observe, the layer's output
//     error ||X (W − Ŵ)ᵀ||_F is below that of round-to-nearest at the same bits, group size
//     and symmetry (round_to_nearest), which is what GPTQ is for.
// AWQ ("method": "awq") has no error feedback but clips each group's range where that
// lowers its share of the output error on the calibration inputs (Note [AWQ clip search]),
// so a clipped weight also lies several steps from its level; the same two checks hold for
// it (its grid is asymmetric, fitted to the group's min and max).
bool uses_error_feedback(const nlohmann::json& format);

// Round-to-nearest on the grid of the GPTQ layout, in float32, per row and group of
// `group_size` consecutive columns (-1: the whole row): lo = min(w, 0), hi = max(w, 0);
// symmetric: hi = max(−lo, hi), lo = −hi, zero 2^(bits−1); asymmetric: zero = round(−lo / s);
// s = (hi − lo) / (2^bits − 1) (lo, hi = −1, 1 for a group of zeros); ŵ = s · (clamp(round(w / s)
// + zero, 0, 2^bits − 1) − zero).
Matrix round_to_nearest(const Matrix& w, int bits, int64_t group_size, bool sym);

// ||X (W − Ŵ)ᵀ||_F in double, Ŵ given row-major like W.
double output_error(const Matrix& x, const Matrix& w, const float* w_hat);

// "" when every ŵ is on the layer's grid as the Note says; else what is wrong, naming the
// element or the tensor. Reads the layer's "scales" (float16 or float32 [groups, out]) and
// "g_idx" (int32 [in], optional).
std::string off_grid(const lmf_quantized_layer& layer, const nlohmann::json& format,
                     const float* w_hat);

}  // namespace lmf::conformance
