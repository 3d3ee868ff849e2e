#include "plugins/quantizer/nf4/nf4_blocks.h"

#include "plugins/quantizer/common/parallel_columns.h"
#include "plugins/quantizer/nf4/nf4_codebook.h"

#include <algorithm>
#include <cmath>

namespace lmf::quant::nf4 {
namespace {

// Blocks per parallel task: about 64K weights each.
int64_t blocks_per_task(int64_t block_size) {
  return std::max<int64_t>(1, (int64_t{1} << 16) / block_size);
}

float max_abs(const float* first, int64_t count) {
  float m = 0.0f;
  for (int64_t i = 0; i < count; ++i) m = std::max(m, std::fabs(first[i]));
  return m;
}

}  // namespace

int64_t first_non_finite(std::span<const float> values) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) return static_cast<int64_t>(i);
  return -1;
}

void quantize_blocks(std::span<const float> w, int64_t block_size, uint8_t* packed, float* absmax) {
  const int64_t blocks = static_cast<int64_t>(w.size()) / block_size;
  parallel_columns(blocks, blocks_per_task(block_size), [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      const float* block = w.data() + b * block_size;
      const float m = max_abs(block, block_size);
      absmax[b] = m;
      // Note [Rounding as bitsandbytes does]: a product with the reciprocal; for m = 0 it
      // is inf, the products NaN and the codes 0, as in bitsandbytes.
      const float reciprocal = 1.0f / m;
      uint8_t* out = packed + b * block_size / 2;
      for (int64_t i = 0; i < block_size; i += 2)
        out[i / 2] = static_cast<uint8_t>(nf4_code(block[i] * reciprocal) << 4 |
                                          nf4_code(block[i + 1] * reciprocal));
    }
  });
}

DoubleQuantized double_quantize(std::span<const float> absmax) {
  DoubleQuantized out;
  const int64_t count = static_cast<int64_t>(absmax.size());
  // torch's mean, rounded once to float (bitsandbytes takes _absmax.mean() in float32).
  double sum = 0.0;
  for (float value : absmax) sum += value;
  out.offset = count > 0 ? static_cast<float>(sum / static_cast<double>(count)) : 0.0f;

  std::vector<float> centred(absmax.size());
  for (size_t b = 0; b < absmax.size(); ++b) centred[b] = absmax[b] - out.offset;
  const float* map = dynamic_map().data();
  out.codes.resize(absmax.size());
  for (int64_t first = 0; first < count; first += kNestedBlockSize) {
    const int64_t size = std::min(kNestedBlockSize, count - first);
    const float m = max_abs(centred.data() + first, size);
    out.nested_absmax.push_back(m);
    const float reciprocal = 1.0f / m;
    for (int64_t b = first; b < first + size; ++b)
      out.codes[static_cast<size_t>(b)] =
          dynamic_code(centred[static_cast<size_t>(b)] * reciprocal, map);
  }
  return out;
}

void double_dequantize(std::span<const uint8_t> codes, std::span<const float> nested_absmax,
                       int64_t nested_block_size, float offset, const float* map, float* absmax) {
  for (size_t b = 0; b < codes.size(); ++b) {
    // Two roundings, as bitsandbytes: dequantize_blockwise, then `absmax += offset`.
    const float scaled = map[codes[b]] * nested_absmax[b / static_cast<size_t>(nested_block_size)];
    absmax[b] = scaled + offset;
  }
}

}  // namespace lmf::quant::nf4
