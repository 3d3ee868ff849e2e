// The uniform grid GPTQ rounds a group of weights onto (AutoGPTQ's Quantizer.find_params),
// with its scale already rounded to the fp16 the GPTQ layout stores. RTN rounds onto the
// same grid, so the two differ only in how they choose the codes.
#pragma once

#include <cstdint>

namespace lmf::quant {

// ŵ = scale * (code - zero), code in [0, 2^bits - 1].
struct GridStep {
  float scale = 1.0f;  // exactly representable in fp16
  int32_t zero = 1;    // in [1, 2^bits - 1] (Note [GPTQ v1 zeros], gptq_layout.h)
};

// Note [GPTQ grid]
// For a group whose smallest weight is `min` and largest `max`, with maxq = 2^bits - 1:
//   - symmetric: m = max(|min|, |max|), scale = 2m / maxq, zero = 2^(bits-1): the levels run
//     from -2^(bits-1)·scale to (2^(bits-1) - 1)·scale, so ±m are each within scale/2 of one.
//     AutoGPTQ keeps min = 0 for a group without negative weights (scale = max/maxq around
//     the same middle zero, which clips the upper half); we widen to ±m in every group.
//   - asymmetric: the range widened to hold 0, lo = min(min, 0), hi = max(max, 0),
//     scale = (hi - lo) / maxq, zero = round(-lo / scale).
//   - a group of zeros gets lo = -1, hi = 1 as in AutoGPTQ (any scale would do).
// The scale is rounded to fp16 first (the layout stores fp16), the zero computed from the
// rounded scale, and codes are chosen against the stored scale, so dequantizing reproduces
// exactly what a GPTQ loader computes. A scale below fp16's range becomes its smallest
// subnormal (2^-24), so that codes stay finite. The v1 layout cannot store zero 0: an
// asymmetric group whose zero rounds to 0 (no weight below -scale/2) is given zero 1 and
// scale = hi / (maxq - 1), its levels -scale .. hi, so every weight stays within scale/2.
//
// Throws std::invalid_argument when min/max are not finite or the scale overflows fp16
// (|w| above about 4.9e5 at 4 bits); callers add the layer's name.
GridStep gptq_grid(float min, float max, int bits, bool sym);

// round(w / scale) + zero clamped to [0, 2^bits - 1], ties to even as torch.round.
uint8_t grid_code(float w, const GridStep& step, int bits);

}  // namespace lmf::quant
