#include "plugins/quantizer/nf4/nf4_codebook.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lmf::quant::nf4 {

uint8_t nf4_code(float x) {
  // bitsandbytes' dQuantizeNF4 (csrc/kernels.cu): the thresholds are the midpoints of
  // neighbouring kNf4Levels, as bitsandbytes writes them (Note [Rounding as bitsandbytes
  // does]). The branches return the code whose bits spell the path taken.
  if (x > 0.03979014977812767f) {
    if (x > 0.3893125355243683f) {
      if (x > 0.6427869200706482f) return x > 0.8614784181118011f ? 0b1111 : 0b1110;
      return x > 0.5016634166240692f ? 0b1101 : 0b1100;
    }
    if (x > 0.2035212516784668f) return x > 0.2920137718319893f ? 0b1011 : 0b1010;
    return x > 0.1202552504837513f ? 0b1001 : 0b1000;
  }
  if (x > -0.33967943489551544f) {
    if (x > -0.13791173323988914f) return x > -0.045525018125772476f ? 0b0111 : 0b0110;
    return x > -0.23460740596055984f ? 0b0101 : 0b0100;
  }
  if (x > -0.6106329262256622f) return x > -0.4599952697753906f ? 0b0011 : 0b0010;
  return x > -0.8480964004993439f ? 0b0001 : 0b0000;
}

namespace {

// Note [The dynamic map in float32]
// create_dynamic_map builds, for i = 0..6, the 2^i midpoints of torch.linspace(0.1, 1,
// 2^i + 1), scales them by 10^(i-6) and adds their negatives, then 0 and 1, and sorts.
// Every step runs in float32 in torch, and torch's linspace evaluates start + step * j
// (or end - step * (steps - 1 - j) in its upper half) as one fused multiply-add; with a
// separate multiply and add, 42 of the 256 values come out one ulp away. The values are
// checked against bitsandbytes' own map (the fixtures' nested_quant_map).
std::array<float, 256> make_dynamic_map() {
  std::vector<float> values;
  for (int i = 0; i < 7; ++i) {
    const int steps = (1 << i) + 1;
    const float start = 0.1f, end = 1.0f;
    const float step = (end - start) / static_cast<float>(steps - 1);
    std::vector<float> boundaries(static_cast<size_t>(steps));
    for (int j = 0; j < steps; ++j)
      boundaries[static_cast<size_t>(j)] =
          j < steps / 2 ? std::fmaf(step, static_cast<float>(j), start)
                        : std::fmaf(-step, static_cast<float>(steps - 1 - j), end);
    // Python's 10 ** (i - 6) is the int 1 for i = 6, else a double rounded to float.
    const float scale = i == 6 ? 1.0f : static_cast<float>(std::pow(10.0, i - 6));
    for (int j = 0; j + 1 < steps; ++j) {
      const float mean =
          (boundaries[static_cast<size_t>(j)] + boundaries[static_cast<size_t>(j + 1)]) / 2.0f;
      values.push_back(mean * scale);
      values.push_back(-(mean * scale));
    }
  }
  values.push_back(0.0f);
  values.push_back(1.0f);
  std::sort(values.begin(), values.end());
  std::array<float, 256> map{};
  std::copy(values.begin(), values.end(), map.begin());
  return map;
}

}  // namespace

const std::array<float, 256>& dynamic_map() {
  static const std::array<float, 256> map = make_dynamic_map();
  return map;
}

uint8_t dynamic_code(float x, const float* map) {
  // bitsandbytes' dQuantize<0> (csrc/kernels.cu), non-stochastic.
  int pivot = 127, upper_pivot = 255, lower_pivot = 0;
  float lower = -1.0f, upper = 1.0f;
  float value = map[pivot];
  for (int i = 64; i > 0; i >>= 1) {
    if (x > value) {
      lower_pivot = pivot;
      lower = value;
      pivot += i;
    } else {
      upper_pivot = pivot;
      upper = value;
      pivot -= i;
    }
    value = map[pivot];
  }
  if (upper_pivot == 255) upper = map[upper_pivot];
  if (lower_pivot == 0) lower = map[lower_pivot];
  if (x > value) return static_cast<uint8_t>(x > (upper + value) * 0.5f ? upper_pivot : pivot);
  return static_cast<uint8_t>(x < (lower + value) * 0.5f ? lower_pivot : pivot);
}

}  // namespace lmf::quant::nf4
