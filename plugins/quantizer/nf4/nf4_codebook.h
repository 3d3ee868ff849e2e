// The two codebooks of bitsandbytes' 4-bit NormalFloat with double quantization: the 16 NF4
// levels of the weights and the 8-bit dynamic map of the block absmax values, each with
// the rounding bitsandbytes' kernels apply (Note [Rounding as bitsandbytes does]).
#pragma once

#include <array>
#include <cstdint>

namespace lmf::quant::nf4 {

// Note [Rounding as bitsandbytes does]
// bitsandbytes' quantize_4bit (csrc kernels kQuantizeBlockwise, dQuantizeNF4, dQuantize)
// decides codes with float32 arithmetic that this plugin repeats step for step, so that
// the packed bytes are bitsandbytes' own:
//   - NF4: per block, m = max|w| and r = 1.0f / m; a weight's code is found from v = w * r
//     (a float product, not w / m) by 15 fixed thresholds, the midpoints of neighbouring
//     levels written as float literals; `v > t` takes the upper level, so a value exactly
//     on a threshold takes the lower one. A block of zeros has r = inf and v = NaN, every
//     comparison is false, and its codes are 0 (level -1, times absmax 0).
//   - the 8-bit dynamic map (double quantization): the same r = 1.0f / m per block of
//     absmax values, then a binary search from index 127 that ends at an even index p
//     and returns p or the neighbour on x's side when x passes their midpoint
//     (a + b) * 0.5f; so ties go to the even index. NaN ends at 0.
// bitsandbytes builds its CUDA kernels with --use_fast_math, where 1.0f / m is the
// approximate reciprocal (within one ulp of the correctly rounded one used here): a weight
// within about an ulp of a threshold may take the neighbouring code there. The fixture test
// (tests/quantizer_nf4/bitsandbytes_fixture_test.cpp) accepts exactly those differences.

// The NF4 levels, code 0 to 15, ascending; code 7 is 0.
inline constexpr std::array<float, 16> kNf4Levels = {-1.0f,
                                                     -0.6961928009986877f,
                                                     -0.5250730514526367f,
                                                     -0.39491748809814453f,
                                                     -0.28444138169288635f,
                                                     -0.18477343022823334f,
                                                     -0.09105003625154495f,
                                                     0.0f,
                                                     0.07958029955625534f,
                                                     0.16093020141124725f,
                                                     0.24611230194568634f,
                                                     0.33791524171829224f,
                                                     0.44070982933044434f,
                                                     0.5626170039176941f,
                                                     0.7229568362236023f,
                                                     1.0f};

// The NF4 code of a weight already multiplied by its block's 1 / absmax.
uint8_t nf4_code(float normalized);

// bitsandbytes' create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), the
// default code of quantize_blockwise: 256 ascending float32 values from -0.99296875 to 1,
// with 0 at index 127, as torch computes them (Note [The dynamic map in float32]).
const std::array<float, 256>& dynamic_map();

// The index of `normalized` in `map` (256 ascending values), by bitsandbytes' search.
uint8_t dynamic_code(float normalized, const float* map);

}  // namespace lmf::quant::nf4
