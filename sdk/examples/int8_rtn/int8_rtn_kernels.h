// int8 round-to-nearest kernels on plain arrays.
//
// Nothing here knows about lmforge: the kernels take pointers and extents, so they can be
// read, tested and reused on their own. int8_rtn_plugin.cpp checks the tensors and calls
// them. Every matrix is row-major; `rows` is out_features and `cols` is in_features.
#pragma once

#include <cstdint>

namespace int8_rtn {

// Symmetric int8 uses -127..127, so that q and -q are both representable; -128 stays unused.
inline constexpr float kMaxLevel = 127.0f;

// Quantizes w [rows, cols] one row (output channel) at a time:
//   scales[r] = clip_ratio * max|w[r, :]| / 127   (1 for a row of zeros)
//   q[r, c]   = clamp(round(w[r, c] / scales[r]), -127, 127)
// Throws std::invalid_argument naming the row when a weight is NaN or infinite.
void quantize(const float* w, int64_t rows, int64_t cols, float clip_ratio, int8_t* q,
              float* scales);

// w[r, c] = scales[r] * q[r, c]
void dequantize(const int8_t* q, const float* scales, int64_t rows, int64_t cols, float* w);

// y[t, o] = scales[o] * sum_i x[t, i] * q[o, i], with x [tokens, cols] and y [tokens, rows].
void matmul(const float* x, int64_t tokens, const int8_t* q, const float* scales, int64_t rows,
            int64_t cols, float* y);

}  // namespace int8_rtn
