#include "plugins/quantizer/common/gptq_layout.h"

#include "plugins/quantizer/common/fp16.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace lmf::quant {
namespace {

[[noreturn]] void refuse(const std::string& message) {
  throw std::invalid_argument("GPTQ layout: " + message);
}

void expect_bits(int bits) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    refuse("bits is " + std::to_string(bits) + ", but the format stores 2, 3, 4 or 8 bits");
}

void expect_size(const char* field, size_t got, int64_t expected) {
  if (got != static_cast<size_t>(expected))
    refuse(std::string(field) + " holds " + std::to_string(got) + " values, expected " +
           std::to_string(expected));
}

// ORs `value` into the bit stream at index `k` (Note [GPTQ checkpoint layout]).
void pack_value(int32_t* words, int64_t stride, int64_t k, int bits, uint32_t value) {
  const int64_t offset = k * bits;
  const int64_t word = offset >> 5;
  const int shift = static_cast<int>(offset & 31);
  uint32_t* low = reinterpret_cast<uint32_t*>(words + word * stride);
  *low |= value << shift;
  if (shift + bits > 32) {
    uint32_t* high = reinterpret_cast<uint32_t*>(words + (word + 1) * stride);
    *high |= value >> (32 - shift);
  }
}

}  // namespace

int64_t gptq_pack_multiple(int bits) {
  expect_bits(bits);
  return bits == 3 ? 32 : 32 / bits;
}

GptqShapes gptq_shapes(int bits, int64_t out_features, int64_t in_features, int64_t groups) {
  expect_bits(bits);
  return {{in_features * bits / 32, out_features},
          {groups, out_features * bits / 32},
          {groups, out_features},
          {in_features}};
}

int64_t gptq_group_count(int64_t in_features, int64_t group_size) {
  if (group_size <= 0 && group_size != -1)
    refuse("group_size is " + std::to_string(group_size) + ", expected -1 or a positive size");
  if (group_size == -1 || group_size >= in_features) return 1;
  if (in_features % group_size != 0)
    refuse("group_size " + std::to_string(group_size) + " does not divide in_features " +
           std::to_string(in_features));
  return in_features / group_size;
}

GptqTensors gptq_tensors_for(int bits, int64_t group_size, bool sym, bool desc_act,
                             int64_t out_features, int64_t in_features, int64_t groups) {
  GptqTensors tensors;
  tensors.bits = bits;
  tensors.group_size = group_size;
  tensors.sym = sym;
  tensors.desc_act = desc_act;
  tensors.out_features = out_features;
  tensors.in_features = in_features;
  tensors.groups = groups;
  return tensors;
}

GptqTensors pack_gptq(const QuantizedCodes& codes) {
  expect_bits(codes.bits);
  const int bits = codes.bits;
  const int64_t out = codes.out_features, in = codes.in_features;
  const int64_t multiple = gptq_pack_multiple(bits);
  if (out <= 0 || in <= 0)
    refuse("the weight is [" + std::to_string(out) + ", " + std::to_string(in) +
           "]; both extents must be positive");
  if (in % multiple != 0 || out % multiple != 0)
    refuse("a " + std::to_string(bits) +
           "-bit layer needs in_features and out_features that "
           "are multiples of " +
           std::to_string(multiple) + " (values per packed word" + (bits == 3 ? "s" : "") +
           "), got [out, in] = [" + std::to_string(out) + ", " + std::to_string(in) + "]");
  const int64_t groups = gptq_group_count(in, codes.group_size);
  expect_size("codes", codes.codes.size(), out * in);
  expect_size("scales", codes.scales.size(), groups * out);
  expect_size("zeros", codes.zeros.size(), groups * out);
  expect_size("g_idx", codes.g_idx.size(), in);

  GptqTensors packed =
      gptq_tensors_for(bits, codes.group_size, codes.sym, codes.desc_act, out, in, groups);
  packed.qweight.assign(static_cast<size_t>(in * bits / 32 * out), 0);
  packed.qzeros.assign(static_cast<size_t>(groups * (out * bits / 32)), 0);
  packed.scales.resize(static_cast<size_t>(groups * out));
  packed.g_idx = codes.g_idx;

  const uint32_t levels = 1u << bits;
  for (int64_t i = 0; i < in; ++i) {
    const int32_t group = codes.g_idx[static_cast<size_t>(i)];
    if (group < 0 || group >= groups)
      refuse("g_idx[" + std::to_string(i) + "] is " + std::to_string(group) + ", expected 0.." +
             std::to_string(groups - 1));
  }
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const uint8_t code = codes.codes[static_cast<size_t>(o * in + i)];
      if (code >= levels)
        refuse("codes[" + std::to_string(o) + "][" + std::to_string(i) + "] is " +
               std::to_string(code) + ", expected 0.." + std::to_string(levels - 1));
      pack_value(packed.qweight.data() + o, out, i, bits, code);
    }
  const int64_t zero_words = out * bits / 32;
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t o = 0; o < out; ++o) {
      const size_t at = static_cast<size_t>(g * out + o);
      const int32_t zero = codes.zeros[at];
      if (zero < 1 || zero > static_cast<int32_t>(levels))
        refuse("zeros[" + std::to_string(g) + "][" + std::to_string(o) + "] is " +
               std::to_string(zero) + ", but the v1 layout stores zeros 1.." +
               std::to_string(levels) + " (Note [GPTQ v1 zeros])");
      pack_value(packed.qzeros.data() + g * zero_words, 1, o, bits,
                 static_cast<uint32_t>(zero - 1) & (levels - 1));
      const float scale = codes.scales[at];
      const uint16_t half = float_to_half(scale);
      if (!std::isfinite(scale) || (half & 0x7fffu) == kHalfInfinity)
        refuse("scales[" + std::to_string(g) + "][" + std::to_string(o) + "] is " +
               std::to_string(scale) + ", which fp16 cannot hold");
      packed.scales[at] = half;
    }
  return packed;
}

QuantizedCodes unpack_gptq(const GptqTensors& packed) {
  expect_bits(packed.bits);
  const int bits = packed.bits;
  const int64_t out = packed.out_features, in = packed.in_features, groups = packed.groups;
  const GptqShapes shapes = gptq_shapes(bits, out, in, groups);
  expect_size("qweight", packed.qweight.size(), shapes.qweight[0] * shapes.qweight[1]);
  expect_size("qzeros", packed.qzeros.size(), shapes.qzeros[0] * shapes.qzeros[1]);
  expect_size("scales", packed.scales.size(), groups * out);
  expect_size("g_idx", packed.g_idx.size(), in);

  QuantizedCodes codes;
  codes.bits = bits;
  codes.group_size = packed.group_size;
  codes.sym = packed.sym;
  codes.desc_act = packed.desc_act;
  codes.out_features = out;
  codes.in_features = in;
  codes.codes.resize(static_cast<size_t>(out * in));
  codes.scales.resize(static_cast<size_t>(groups * out));
  codes.zeros.resize(static_cast<size_t>(groups * out));
  codes.g_idx = packed.g_idx;
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i)
      codes.codes[static_cast<size_t>(o * in + i)] =
          static_cast<uint8_t>(packed_value(packed.qweight.data() + o, out, i, bits));
  const int64_t zero_words = out * bits / 32;
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t o = 0; o < out; ++o) {
      const size_t at = static_cast<size_t>(g * out + o);
      codes.zeros[at] =
          static_cast<int32_t>(packed_value(packed.qzeros.data() + g * zero_words, 1, o, bits)) + 1;
      codes.scales[at] = half_to_float(packed.scales[at]);
    }
  return codes;
}

nlohmann::json gptq_quantization_config(int bits, int64_t group_size, bool sym, bool desc_act) {
  expect_bits(bits);
  return {{"quant_method", "gptq"}, {"bits", bits}, {"group_size", group_size},
          {"desc_act", desc_act},   {"sym", sym},   {"checkpoint_format", "gptq"}};
}

}  // namespace lmf::quant
