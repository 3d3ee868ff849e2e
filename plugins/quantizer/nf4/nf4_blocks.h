// Blockwise NF4 quantization of a flat weight and the double quantization of its block
// absmax values, as bitsandbytes' quantize_4bit(..., quant_type="nf4",
// compress_statistics=True) computes them (Note [Rounding as bitsandbytes does]).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lmf::quant::nf4 {

// bitsandbytes' quantize_blockwise(absmax - offset, blocksize=256): the double
// quantization always uses blocks of 256 absmax values.
inline constexpr int64_t kNestedBlockSize = 256;

// The index of the first NaN or infinite value, or -1.
int64_t first_non_finite(std::span<const float> values);

// Quantizes `w` (the row-major [out, in] weight flattened; w.size() a multiple of
// block_size, all finite) in blocks of `block_size` consecutive values:
//   absmax[b] = max |w| over block b, packed[k] = code(w[2k]) << 4 | code(w[2k + 1]):
// the even element in the high nibble, as bitsandbytes packs.
void quantize_blocks(std::span<const float> w, int64_t block_size, uint8_t* packed, float* absmax);

// absmax quantized to 8 bits: offset = mean(absmax); each block of kNestedBlockSize values
// of absmax - offset is scaled by its max |.| (nested_absmax) and coded with the dynamic
// map (dynamic_map()).
struct DoubleQuantized {
  std::vector<uint8_t> codes;        // one per absmax value
  std::vector<float> nested_absmax;  // one per block of kNestedBlockSize codes
  float offset = 0.0f;
};
DoubleQuantized double_quantize(std::span<const float> absmax);

// The absmax values double quantization gives back, as bitsandbytes computes them:
//   absmax[b] = map[codes[b]] * nested_absmax[b / nested_block_size] + offset (float).
void double_dequantize(std::span<const uint8_t> codes, std::span<const float> nested_absmax,
                       int64_t nested_block_size, float offset, const float* map, float* absmax);

}  // namespace lmf::quant::nf4
