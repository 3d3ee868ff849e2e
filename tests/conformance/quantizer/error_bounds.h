// How far a dequantized weight may be from the original, per element, for each format the
// suite knows (Note [Error bounds]).
#pragma once

#include "tests/conformance/quantizer/test_weights.h"

#include <dlpack/dlpack.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace lmf::conformance {

// Note [Error bounds]
// The bound is read from the layer's format_json (bits, group_size, sym), never from what
// the quantizer claims elsewhere, so a quantizer that writes "bits": 8 must be as accurate
// as 8 bits allow. A group is `group_size` consecutive weights of a row (-1: the whole
// row, i.e. per output channel). For each group G with m = max|w| over G:
//   - uniform symmetric, b bits:  s = m / (2^(b-1) - 1)
//   - uniform asymmetric, b bits: s = (max(max w, 0) - min(min w, 0)) / (2^b - 1)
//     (the range widened to hold 0, as GPTQ and AWQ do; a tighter range only helps)
//   and round-to-nearest puts every weight within s/2 of a level: |w - ŵ| <= s/2 + eps.
//   GPTQ's symmetric grid (2^b levels around a zero point of 2^(b-1)) has a smaller step,
//   so the bound holds for it too.
//   - "nf4" (bitsandbytes' 4-bit NormalFloat): its blocks are group_size (or 64)
//     consecutive weights of the flattened row-major weight, so a block may span rows;
//     m = max|w| of the block. Rounding to the nearest of the 16 levels errs by at most
//     half the widest gap between neighbours, (1 - 0.6961928) / 2 * m < 0.152 * m. With
//     "double_quant": true the stored absmax errs too: absmax - mean(absmax) is rounded,
//     in blocks of "nested_blocksize" (256) absmax values, to bitsandbytes' 8-bit dynamic
//     map, by at most half its widest gap, 0.9 / 64 / 2 = 0.00703125 times M, the largest
//     |absmax - mean| of the nested block; a level is at most 1 in magnitude, so each
//     weight's error grows by as much (plus (M + |mean|) * eps for the float arithmetic).
// eps covers float arithmetic and the rounding of stored scales:
//   eps = (m + s) * (u(scale dtype) + 4 * 2^-24), u = 2^-24 float32, 2^-11 float16, 2^-8 bf16.
//   Below its normal range a dtype rounds absolutely, not relatively: a uniform format's
//   stored scale may be off by half the subnormal gap d (2^-24 for float16), and a level
//   is at most 2^b steps from the zero point, so uniform formats add 2^b * d / 2 to eps
//   (it matters only for tiny groups, e.g. a row scaled by 1e-4 with fp16 scales).
// A layer whose format_json says "method": "gptq" or "awq" has no element bound (GPTQ's
// error feedback and AWQ's clipping move weights by several steps on purpose): Note [Error
// feedback checks] (error_feedback_checks.h) says what the suite checks instead.
// A format with none of these shapes has no bound here: the suite reports it, and whoever
// adds the format adds its bound to this file.
struct ElementBounds {
  std::vector<double> bound;  // one per weight, row-major
  std::string description;    // the rule, for failure messages
};

// The bound of each element of `w` under `format`, or std::nullopt with `*problem` set
// when `format` has no known bound. `scale_dtype` is the dtype of the stored scales.
std::optional<ElementBounds> error_bounds(const nlohmann::json& format, const Matrix& w,
                                          DLDataType scale_dtype, std::string* problem);

}  // namespace lmf::conformance
