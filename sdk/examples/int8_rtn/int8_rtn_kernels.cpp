#include "int8_rtn_kernels.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace int8_rtn {

void quantize(const float* w, int64_t rows, int64_t cols, float clip_ratio, int8_t* q,
              float* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    float max_abs = 0.0f;
    bool finite = true;
    for (int64_t c = 0; c < cols; ++c) {
      const float magnitude = std::fabs(row[c]);
      finite = finite && std::isfinite(magnitude);
      max_abs = std::max(max_abs, magnitude);
    }
    if (!finite)
      throw std::invalid_argument("row " + std::to_string(r) + " holds a NaN or infinite value");

    float scale = clip_ratio * max_abs / kMaxLevel;
    // A row of zeros (or one so small that its scale underflows) quantizes to zeros with any
    // scale; 1 keeps the division below finite.
    if (scale == 0.0f) scale = 1.0f;
    scales[r] = scale;

    int8_t* q_row = q + r * cols;
    for (int64_t c = 0; c < cols; ++c)
      q_row[c] = static_cast<int8_t>(std::clamp(std::round(row[c] / scale), -kMaxLevel, kMaxLevel));
  }
}

void dequantize(const int8_t* q, const float* scales, int64_t rows, int64_t cols, float* w) {
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = scales[r];
    const int8_t* q_row = q + r * cols;
    float* w_row = w + r * cols;
    for (int64_t c = 0; c < cols; ++c) w_row[c] = scale * static_cast<float>(q_row[c]);
  }
}

namespace {

// Note [Eight partial sums]
// A plain `sum += x[i] * q[i]` loop cannot be vectorized without -ffast-math: the compiler
// must keep the order of the float additions. Eight independent partial sums fix an order
// that maps onto one 8-lane (AVX) or two 4-lane (SSE, NEON) registers, so the loop below
// vectorizes at -O2/-O3 and gives the same result on every machine.
constexpr int64_t kLanes = 8;

float dot(const float* x, const int8_t* q, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) lanes[k] += x[i + k] * static_cast<float>(q[i + k]);
  float sum = 0.0f;
  for (; i < n; ++i) sum += x[i] * static_cast<float>(q[i]);
  for (int64_t k = 0; k < kLanes; ++k) sum += lanes[k];
  return sum;
}

}  // namespace

void matmul(const float* x, int64_t tokens, const int8_t* q, const float* scales, int64_t rows,
            int64_t cols, float* y) {
  // The scale of an output channel is common to its whole row, so it multiplies the dot
  // product once instead of every weight.
  for (int64_t t = 0; t < tokens; ++t) {
    const float* x_row = x + t * cols;
    float* y_row = y + t * rows;
    for (int64_t o = 0; o < rows; ++o) y_row[o] = scales[o] * dot(x_row, q + o * cols, cols);
  }
}

}  // namespace int8_rtn
