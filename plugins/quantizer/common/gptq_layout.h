// The GPTQ checkpoint layout of AutoGPTQ and GPTQModel ("checkpoint_format": "gptq"), which
// vLLM and transformers load: packing QuantizedCodes into its four tensors and back, and
// the quantization_config of config.json.
#pragma once

#include "plugins/quantizer/common/quantized_codes.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::quant {

// Note [GPTQ checkpoint layout]
// For a linear layer with weight [out, in] quantized to `bits` in groups (G groups):
//   qweight int32 [in * bits / 32, out]   the codes, packed along the input dimension
//   qzeros  int32 [G, out * bits / 32]    zero - 1 (Note [GPTQ v1 zeros]), packed along out
//   scales  fp16  [G, out]
//   g_idx   int32 [in]                    the group of each input column
// and w[o][i] = scales[g][o] * (code[i][o] - zero[g][o]) with g = g_idx[i].
// Packing: each column of qweight (and each row of qzeros) is a little-endian bit stream of
// `bits`-bit values cut into 32-bit words: value k sits at bit offset bits*k, i.e. in word
// (bits*k) / 32 at shift (bits*k) % 32. For 2, 4 and 8 bits a value never straddles two
// words (word j holds values 32/bits*j .. 32/bits*(j+1) - 1, the first in the lowest bits).
// For 3 bits this is exactly AutoGPTQ's interleaving: 32 values fill 3 words; word 0 holds
// values 0..9 at shifts 0..27 and the low 2 bits of value 10 at bits 30-31, word 1 its top
// bit at bit 0, values 11..20 at shifts 1..28 and the low bit of value 21 at bit 31, word 2
// the top 2 bits of value 21 at bits 0-1 and values 22..31 at shifts 2..29.
// So `in` must be a multiple of 32 / gcd(bits, 32) values per column (8 at 4 bits, 32 at
// 3 bits) and `out` likewise for qzeros; vLLM asks the same. Without act-order (desc_act
// false) g_idx[i] = i / group_size; with it, g_idx is any map onto the groups while
// qweight keeps the input columns in their original order, as AutoGPTQ writes it.
// group_size -1 means one group (G = 1) spanning the whole input; so does a group_size of
// at least `in` (AutoGPTQ's ceil(in / group_size) = 1; vLLM refuses such layers, which LLMs,
// with in >= 128, do not have). Any other group_size must divide `in`.
//
// Note [GPTQ v1 zeros]
// AutoGPTQ's pack stores zero - 1 and every loader adds the 1 back after masking
// (AutoGPTQ's QuantLinear, vLLM's gptq kernels, GPTQModel's "gptq" format); GPTQModel's
// "gptq_v2" stores the zero itself. We write v1 ("checkpoint_format": "gptq") because it is
// what AutoGPTQ checkpoints use and what every loader reads, including vLLM versions with no
// notion of v2. Its cost: a stored field holds 0..2^bits - 1, so the zeros it can express are
// 1..2^bits, and zero 0 cannot be stored (a masked -1 reads back as 2^bits). Symmetric grids
// never need it (their zero is 2^(bits-1)); the asymmetric grid avoids it (Note [GPTQ grid]).
// pack refuses a zero outside 1..2^bits; unpack returns what a loader computes, 1..2^bits.

// The four tensors, owned, in the layout above (row-major).
struct GptqTensors {
  int bits = 4;
  int64_t group_size = -1;  // as in config.json: -1 or the size of a group
  bool sym = true;
  bool desc_act = false;
  int64_t out_features = 0;
  int64_t in_features = 0;
  int64_t groups = 0;
  std::vector<int32_t> qweight;  // [in_features * bits / 32, out_features]
  std::vector<int32_t> qzeros;   // [groups, out_features * bits / 32]
  std::vector<uint16_t> scales;  // [groups, out_features], IEEE fp16 bit patterns
  std::vector<int32_t> g_idx;    // [in_features]
};

// A GptqTensors with these layout fields and no data yet.
GptqTensors gptq_tensors_for(int bits, int64_t group_size, bool sym, bool desc_act,
                             int64_t out_features, int64_t in_features, int64_t groups);

// The shapes of the four tensors for a layer; also what import_layer checks against.
struct GptqShapes {
  std::vector<int64_t> qweight, qzeros, scales, g_idx;
};
GptqShapes gptq_shapes(int bits, int64_t out_features, int64_t in_features, int64_t groups);

// Values per int32 word when none straddles (32 / bits), or per 3-word bundle at 3 bits:
// the multiple `in` (qweight) and `out` (qzeros) must be of.
int64_t gptq_pack_multiple(int bits);

// The number of groups for `group_size` (-1 or at least in_features: one); throws
// std::invalid_argument for another group_size that does not divide `in_features`.
int64_t gptq_group_count(int64_t in_features, int64_t group_size);

// Checks that the layout can hold `codes` (bits 2/3/4/8, extents, codes, zeros 1..2^bits,
// finite scales, g_idx in range) and packs them; scales are rounded to the nearest fp16.
// Throws std::invalid_argument naming the field and the expected vs got value.
GptqTensors pack_gptq(const QuantizedCodes& codes);

// The inverse: codes, zeros (1..2^bits) and float scales exactly as a GPTQ loader reads them.
QuantizedCodes unpack_gptq(const GptqTensors& tensors);

// The "quantization_config" object of config.json for such a checkpoint.
nlohmann::json gptq_quantization_config(int bits, int64_t group_size, bool sym, bool desc_act);

// The value at bit-stream index `k` of a packed column (stride between words `stride`).
inline uint32_t packed_value(const int32_t* words, int64_t stride, int64_t k, int bits) {
  const int64_t offset = k * bits;
  const int64_t word = offset >> 5;
  const int shift = static_cast<int>(offset & 31);
  uint32_t value = static_cast<uint32_t>(words[word * stride]) >> shift;
  if (shift + bits > 32) value |= static_cast<uint32_t>(words[(word + 1) * stride]) << (32 - shift);
  return value & ((1u << bits) - 1u);
}

}  // namespace lmf::quant
