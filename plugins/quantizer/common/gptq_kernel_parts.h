// The pieces gptq_kernels.cpp assembles, in a portable and an AVX2/FMA version each
// (Note [GPTQ CPU kernels]). Internal to lmf_quant_common.
#pragma once

#include "plugins/quantizer/common/gptq_kernels.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace lmf::quant::detail {

// Note [GPTQ CPU kernels]
// Work is cut into blocks of kColumnBlock output columns, one task each (parallel_columns):
// a column of qweight is contiguous across `out`, so a block reads whole cache lines of
// every packed row, and no two tasks write the same output.
//   - tokens = 1, the decode step: a matrix-vector product that reads each packed word once
//     and never materializes weights. With sequential groups it sums x_i·(code - zero) per
//     group and multiplies by the group's scale once; (code - zero) is exact in float, so an
//     all-zero row gives exactly 0 (summing x_i·code and subtracting zero·Σx_i would not).
//     Under act-order each input looks up its own group's scale and zero.
//   - tokens > 1: a tile of kTileInputs × block weights is dequantized into a buffer that
//     stays in cache, then multiplied into y for every token, so the dequantization is
//     amortized over the tokens.
//   - dequantize: the same tiles, written transposed into [out, in].
// The scales and zeros of a block's columns are decoded once per call into BlockParams
// (fp16 and packed zeros to float), small enough to stay in cache.
// The AVX2 versions hold 16 or 8 columns in ymm registers and extract each packed value with
// a shift and a mask known at compile time (template over the bit width); they use FMA, the
// portable ones do not, so the two paths round differently in the last bits.
constexpr int64_t kColumnBlock = 64;
constexpr int64_t kTileInputs = 256;

// Values per packed bundle: one int32 word at 2, 4 and 8 bits, three words at 3 bits.
template <int Bits>
struct Bundle {
  static constexpr int kWords = Bits == 3 ? 3 : 1;
  static constexpr int kValues = 32 * kWords / Bits;
};

// Calls f(std::integral_constant<int, bits>{}), so that kernels are templates over the width.
template <class F>
void with_bits(int bits, F&& f) {
  switch (bits) {
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 8:
      return f(std::integral_constant<int, 8>{});
  }
  throw std::invalid_argument("GPTQ kernels: bits is " + std::to_string(bits) +
                              ", expected 2, 3, 4 or 8");
}

// Scales and zeros of the columns [c0, c0 + width) for every group, as floats, row-major
// [groups][width].
struct BlockParams {
  int64_t c0 = 0, width = 0;
  std::vector<float> scale, zero;
  const float* scale_row(int64_t group) const { return scale.data() + group * width; }
  const float* zero_row(int64_t group) const { return zero.data() + group * width; }
};
BlockParams decode_block_params(const GptqView& layer, int64_t c0, int64_t width);

// Each writes only the columns [cb, ce) of the block (offsets into it).
// y[c0 + c] = Σ_i x[i] · ŵ[c0 + c][i].
using MatvecFn = void (*)(const GptqView&, const BlockParams&, int64_t cb, int64_t ce,
                          const float* x, float* y);
// tile[(i - k0) * width + c] = ŵ[c0 + c][i] for inputs [k0, k1), multiples of the bundle.
using TileFn = void (*)(const GptqView&, const BlockParams&, int64_t cb, int64_t ce, int64_t k0,
                        int64_t k1, float* tile);
// y[t * y_stride + c] += Σ_k x[t * x_stride + k] · tile[k * width + c], k < inputs.
using TileProductFn = void (*)(const float* x, int64_t x_stride, int64_t tokens, const float* tile,
                               int64_t inputs, int64_t width, int64_t cb, int64_t ce, float* y,
                               int64_t y_stride);

struct KernelSet {
  MatvecFn matvec;
  TileFn dequantize_tile;
  TileProductFn tile_product;
};

// A KernelSet from kernels templated over the bit width, Kernels<Bits>::matvec and
// Kernels<Bits>::dequantize_tile, instantiated for each width and picked per call.
template <template <int> class Kernels>
constexpr KernelSet kernel_set(TileProductFn tile_product) {
  return {[](const GptqView& layer, const BlockParams& params, int64_t cb, int64_t ce,
             const float* x, float* y) {
            with_bits(layer.bits, [&](auto bits) {
              Kernels<decltype(bits)::value>::matvec(layer, params, cb, ce, x, y);
            });
          },
          [](const GptqView& layer, const BlockParams& params, int64_t cb, int64_t ce, int64_t k0,
             int64_t k1, float* tile) {
            with_bits(layer.bits, [&](auto bits) {
              Kernels<decltype(bits)::value>::dequantize_tile(layer, params, cb, ce, k0, k1, tile);
            });
          },
          tile_product};
}

// The portable set; the AVX2 set, or nullptr where this build or CPU lacks it.
const KernelSet& portable_kernels();
const KernelSet* avx2_kernels();

}  // namespace lmf::quant::detail
