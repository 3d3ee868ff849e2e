#include "plugins/quantizer/common/gptq_grid.h"

#include "plugins/quantizer/common/fp16.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace lmf::quant {
namespace {

// The fp16 the layout will store for `scale`, back as float.
float stored_scale(float scale) {
  const uint16_t half = float_to_half(scale);
  if (half == kHalfInfinity)
    throw std::invalid_argument("the group's scale " + std::to_string(scale) +
                                " is too large for the fp16 scales of the GPTQ layout");
  return half_to_float(half == 0 ? kHalfSmallestSubnormal : half);
}

}  // namespace

GridStep gptq_grid(float min, float max, int bits, bool sym) {
  if (!std::isfinite(min) || !std::isfinite(max))
    throw std::invalid_argument("the group holds a NaN or infinite weight");
  const int32_t maxq = (1 << bits) - 1;
  float lo = std::min(min, 0.0f), hi = std::max(max, 0.0f);
  if (sym) {
    hi = std::max(-lo, hi);
    lo = -hi;
  }
  if (lo == 0.0f && hi == 0.0f) lo = -1.0f, hi = 1.0f;

  GridStep step;
  step.scale = stored_scale((hi - lo) / static_cast<float>(maxq));
  if (sym) {
    step.zero = 1 << (bits - 1);
    return step;
  }
  step.zero = static_cast<int32_t>(
      std::clamp(std::nearbyint(-lo / step.scale), 0.0f, static_cast<float>(maxq)));
  if (step.zero == 0) {  // Note [GPTQ grid]: the v1 layout stores zero - 1
    step.zero = 1;
    step.scale = stored_scale(hi / static_cast<float>(maxq - 1));
  }
  return step;
}

uint8_t grid_code(float w, const GridStep& step, int bits) {
  const float maxq = static_cast<float>((1 << bits) - 1);
  const float code = std::nearbyint(w / step.scale) + static_cast<float>(step.zero);
  return static_cast<uint8_t>(std::clamp(code, 0.0f, maxq));
}

}  // namespace lmf::quant
