// Round-to-nearest onto the GPTQ grid (Note [GPTQ grid]), one group at a time.
#pragma once

#include "plugins/quantizer/common/quantized_codes.h"

#include <cstdint>

namespace lmf::quant {

struct RtnSettings {
  int bits = 4;              // 2, 3, 4 or 8
  int64_t group_size = 128;  // -1 (or >= in_features): one group per output channel
  bool sym = true;
};

// Quantizes weight [out_features, in_features] (row-major float32). Throws
// std::invalid_argument, saying which setting, extent or weight is at fault, when the GPTQ
// layout cannot hold the result (bits, a group size that does not divide in_features,
// extents that are not a multiple of the packing) or a weight is NaN or infinite.
QuantizedCodes rtn_quantize(const float* weight, int64_t out_features, int64_t in_features,
                            const RtnSettings& settings);

}  // namespace lmf::quant
