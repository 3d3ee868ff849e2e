// AutoAWQ's GEMM checkpoint layout ("version": "gemm", WQLinear_GEMM), which transformers and
// vLLM load as "quant_method": "awq": packing QuantizedCodes into its three tensors and back,
// and the quantization_config of config.json. No libtorch here.
#pragma once

#include "plugins/quantizer/common/quantized_codes.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace lmf::quant::awq {

// Note [AWQ GEMM layout]
// For a linear layer with weight [out, in], 4 bits, groups of `group_size` consecutive input
// columns (G = in / group_size; group_size −1 is one group):
//   qweight int32 [in, out / 8]   codes, packed along the OUTPUT dimension (GPTQ packs along in)
//   qzeros  int32 [G, out / 8]    zeros 0…15, stored as they are (GPTQ v1 stores zero − 1)
//   scales  fp16  [G, out]
// and w[o][i] = scales[g][o] · (code[i][o] − zero[g][o]) with g = i / group_size.
// Word j of a row holds the eight values of columns 8j … 8j+7 interleaved: its nibble n
// (bits 4n … 4n+3) holds column 8j + kAwqPackOrder[n], i.e. nibbles 0…7 hold columns
// 0, 2, 4, 6, 1, 3, 5, 7 (AutoAWQ's order_map, which its CUDA kernel's dequantization
// expects); unpacking reads column c from nibble kAwqUnpackOrder[c] (AutoAWQ's and vLLM's
// AWQ_REVERSE_ORDER). qzeros uses the same interleaving. So `out` must be a multiple of 8
// and `group_size` must divide `in`, as WQLinear_GEMM asserts.
inline constexpr std::array<int, 8> kAwqPackOrder{0, 2, 4, 6, 1, 3, 5, 7};
inline constexpr std::array<int, 8> kAwqUnpackOrder{0, 4, 1, 5, 2, 6, 3, 7};

// The three tensors, owned, in the layout above (row-major).
struct AwqGemmTensors {
  int64_t group_size = 128;  // as in config.json: −1 or the size of a group
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t groups = 0;
  std::vector<int32_t> qweight;  // [in_features, out_features / 8]
  std::vector<int32_t> qzeros;   // [groups, out_features / 8]
  std::vector<uint16_t> scales;  // [groups, out_features], IEEE fp16 bit patterns
};

// Packs `codes` (bits 4, asymmetric, g_idx i / group_size). Throws lmf::sdk::Error
// (LMF_ERR_INVALID_ARGUMENT) naming `layer` and the field: bits other than 4, out not a
// multiple of 8, a group size not dividing in, g_idx not i / group_size (act-order), a code
// or zero outside 0…15, a scale fp16 cannot hold, vectors of the wrong size.
AwqGemmTensors pack_awq_gemm(const QuantizedCodes& codes, std::string_view layer);

// The inverse: codes, zeros and float scales (fp16 widened) exactly as a loader reads them.
QuantizedCodes unpack_awq_gemm(const AwqGemmTensors& tensors);

// One packed word from eight 4-bit values v[0…7] of consecutive columns.
inline uint32_t awq_pack_word(const std::array<uint8_t, 8>& values) {
  uint32_t word = 0;
  for (int n = 0; n < 8; ++n)
    word |= static_cast<uint32_t>(
                values[static_cast<size_t>(kAwqPackOrder[static_cast<size_t>(n)])] & 0xfu)
            << (4 * n);
  return word;
}

// Column c's value (0…7 within the word) from a packed word.
inline uint8_t awq_unpack_value(uint32_t word, int column) {
  return static_cast<uint8_t>((word >> (4 * kAwqUnpackOrder[static_cast<size_t>(column)])) & 0xfu);
}

// The "quantization_config" object of config.json:
// {"quant_method":"awq","bits":4,"group_size":…,"zero_point":true,"version":"gemm"}.
nlohmann::json awq_quantization_config(int64_t group_size);

}  // namespace lmf::quant::awq
