#include "plugins/quantizer/rtn/rtn_quantize.h"

#include "plugins/quantizer/common/gptq_grid.h"
#include "plugins/quantizer/common/gptq_layout.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace lmf::quant {
namespace {

std::string shape_text(int64_t out_features, int64_t in_features) {
  return "[" + std::to_string(out_features) + ", " + std::to_string(in_features) + "]";
}

void expect_finite(const float* weight, int64_t out_features, int64_t in_features) {
  for (int64_t o = 0; o < out_features; ++o)
    for (int64_t i = 0; i < in_features; ++i)
      if (!std::isfinite(weight[o * in_features + i]))
        throw std::invalid_argument("weight[" + std::to_string(o) + "][" + std::to_string(i) +
                                    "] is " + std::to_string(weight[o * in_features + i]) +
                                    "; quantization needs finite weights");
}

}  // namespace

QuantizedCodes rtn_quantize(const float* weight, int64_t out_features, int64_t in_features,
                            const RtnSettings& settings) {
  const int bits = settings.bits;
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    throw std::invalid_argument("bits is " + std::to_string(bits) +
                                ", but the GPTQ layout stores 2, 3, 4 or 8 bits");
  if (settings.group_size != -1 && settings.group_size <= 0)
    throw std::invalid_argument("group_size is " + std::to_string(settings.group_size) +
                                ", expected -1 (per output channel) or a positive size");
  if (settings.group_size > 0 && settings.group_size < in_features &&
      in_features % settings.group_size != 0)
    throw std::invalid_argument("group_size " + std::to_string(settings.group_size) +
                                " does not divide in_features " + std::to_string(in_features) +
                                " (weight " + shape_text(out_features, in_features) + ")");
  const int64_t multiple = gptq_pack_multiple(bits);
  if (out_features <= 0 || in_features <= 0 || out_features % multiple != 0 ||
      in_features % multiple != 0)
    throw std::invalid_argument("the GPTQ layout packs " + std::to_string(bits) + "-bit values " +
                                std::to_string(multiple) +
                                " to a bundle, so out_features and in_features must be "
                                "positive multiples of " +
                                std::to_string(multiple) + "; the weight is " +
                                shape_text(out_features, in_features));
  expect_finite(weight, out_features, in_features);

  // A group_size of at least in_features is one group (Note [GPTQ checkpoint layout]).
  const int64_t group =
      settings.group_size > 0 ? std::min(settings.group_size, in_features) : in_features;
  const int64_t groups = in_features / group;
  QuantizedCodes codes;
  codes.bits = bits;
  codes.group_size = settings.group_size;
  codes.sym = settings.sym;
  codes.desc_act = false;
  codes.out_features = out_features;
  codes.in_features = in_features;
  codes.codes.resize(static_cast<size_t>(out_features * in_features));
  codes.scales.resize(static_cast<size_t>(groups * out_features));
  codes.zeros.resize(codes.scales.size());
  codes.g_idx.resize(static_cast<size_t>(in_features));
  for (int64_t i = 0; i < in_features; ++i)
    codes.g_idx[static_cast<size_t>(i)] = static_cast<int32_t>(i / group);

  for (int64_t o = 0; o < out_features; ++o)
    for (int64_t g = 0; g < groups; ++g) {
      const float* first = weight + o * in_features + g * group;
      const auto [min, max] = std::minmax_element(first, first + group);
      GridStep step;
      try {
        step = gptq_grid(*min, *max, bits, settings.sym);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("row " + std::to_string(o) + ", group " + std::to_string(g) +
                                    ": " + e.what());
      }
      const size_t at = static_cast<size_t>(g * out_features + o);
      codes.scales[at] = step.scale;
      codes.zeros[at] = step.zero;
      uint8_t* code = codes.codes.data() + o * in_features + g * group;
      for (int64_t i = 0; i < group; ++i) code[i] = grid_code(first[i], step, bits);
    }
  return codes;
}

}  // namespace lmf::quant
