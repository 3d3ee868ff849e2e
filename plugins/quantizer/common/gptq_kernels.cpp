#include "plugins/quantizer/common/gptq_kernels.h"

#include "plugins/quantizer/common/fp16.h"
#include "plugins/quantizer/common/gptq_kernel_parts.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "plugins/quantizer/common/parallel_columns.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace lmf::quant {
namespace detail {

BlockParams decode_block_params(const GptqView& layer, int64_t c0, int64_t width) {
  BlockParams params;
  params.c0 = c0;
  params.width = width;
  params.scale.resize(static_cast<size_t>(layer.groups * width));
  params.zero.resize(params.scale.size());
  const int64_t zero_words = layer.out_features * layer.bits / 32;
  for (int64_t g = 0; g < layer.groups; ++g)
    for (int64_t c = 0; c < width; ++c) {
      const size_t at = static_cast<size_t>(g * width + c);
      params.scale[at] = half_to_float(layer.scales[g * layer.out_features + c0 + c]);
      // Note [GPTQ v1 zeros]: the stored field is zero - 1.
      params.zero[at] = static_cast<float>(
          packed_value(layer.qzeros + g * zero_words, 1, c0 + c, layer.bits) + 1);
    }
  return params;
}

namespace {

// The value `j` of a bundle whose first word is `words[0]` and next words `stride` apart, as
// float; with the width a constant, the compiler folds the word and shift arithmetic.
template <int Bits>
inline float bundle_code(const int32_t* words, int64_t stride, int j) {
  return static_cast<float>(static_cast<int32_t>(packed_value(words, stride, j, Bits)));
}

// The loops below run over columns innermost, with no reduction across them, so compilers
// vectorize them without reordering any float sum.
template <int Bits>
void matvec_portable(const GptqView& layer, const BlockParams& params, int64_t cb, int64_t ce,
                     const float* x, float* y) {
  using B = Bundle<Bits>;
  const int64_t out = layer.out_features, n = ce - cb;
  const int32_t* first_column = layer.qweight + params.c0 + cb;
  float total[kColumnBlock] = {}, acc[kColumnBlock];
  const int64_t group_size = layer.sequential_group_size;
  if (group_size > 0 && group_size % B::kValues == 0) {
    const int64_t bundles_per_group = group_size / B::kValues;
    for (int64_t g = 0; g < layer.groups; ++g) {
      const float* zero = params.zero_row(g) + cb;
      std::fill(acc, acc + n, 0.0f);
      for (int64_t b = g * bundles_per_group; b < (g + 1) * bundles_per_group; ++b) {
        const int32_t* words = first_column + b * B::kWords * out;
        for (int j = 0; j < B::kValues; ++j) {
          const float xi = x[b * B::kValues + j];
          for (int64_t c = 0; c < n; ++c)
            acc[c] += xi * (bundle_code<Bits>(words + c, out, j) - zero[c]);
        }
      }
      const float* scale = params.scale_row(g) + cb;
      for (int64_t c = 0; c < n; ++c) total[c] += scale[c] * acc[c];
    }
  } else {
    for (int64_t b = 0; b < layer.in_features / B::kValues; ++b) {
      const int32_t* words = first_column + b * B::kWords * out;
      for (int j = 0; j < B::kValues; ++j) {
        const int64_t i = b * B::kValues + j;
        const float* scale = params.scale_row(layer.g_idx[i]) + cb;
        const float* zero = params.zero_row(layer.g_idx[i]) + cb;
        for (int64_t c = 0; c < n; ++c)
          total[c] += x[i] * scale[c] * (bundle_code<Bits>(words + c, out, j) - zero[c]);
      }
    }
  }
  std::copy(total, total + n, y + params.c0 + cb);
}

template <int Bits>
void dequantize_tile_portable(const GptqView& layer, const BlockParams& params, int64_t cb,
                              int64_t ce, int64_t k0, int64_t k1, float* tile) {
  using B = Bundle<Bits>;
  const int64_t out = layer.out_features;
  for (int64_t b = k0 / B::kValues; b < k1 / B::kValues; ++b) {
    const int32_t* words = layer.qweight + b * B::kWords * out + params.c0;
    for (int j = 0; j < B::kValues; ++j) {
      const int64_t i = b * B::kValues + j;
      const float* scale = params.scale_row(layer.g_idx[i]);
      const float* zero = params.zero_row(layer.g_idx[i]);
      float* row = tile + (i - k0) * params.width;
      for (int64_t c = cb; c < ce; ++c)
        row[c] = scale[c] * (bundle_code<Bits>(words + c, out, j) - zero[c]);
    }
  }
}

void tile_product_portable(const float* x, int64_t x_stride, int64_t tokens, const float* tile,
                           int64_t inputs, int64_t width, int64_t cb, int64_t ce, float* y,
                           int64_t y_stride) {
  for (int64_t t = 0; t < tokens; ++t) {
    float* y_row = y + t * y_stride;
    for (int64_t k = 0; k < inputs; ++k) {
      const float xk = x[t * x_stride + k];
      const float* row = tile + k * width;
      for (int64_t c = cb; c < ce; ++c) y_row[c] += xk * row[c];
    }
  }
}

template <int Bits>
struct PortableKernels {
  static constexpr auto matvec = &matvec_portable<Bits>;
  static constexpr auto dequantize_tile = &dequantize_tile_portable<Bits>;
};

}  // namespace

const KernelSet& portable_kernels() {
  static constexpr KernelSet kernels = kernel_set<PortableKernels>(&tile_product_portable);
  return kernels;
}

}  // namespace detail

namespace {

using detail::BlockParams;
using detail::KernelSet;

const KernelSet& pick(CpuKernel kernel) {
  if (kernel == CpuKernel::kPortable) return detail::portable_kernels();
  const KernelSet* avx2 = detail::avx2_kernels();
  if (avx2 != nullptr) return *avx2;
  if (kernel == CpuKernel::kAvx2)
    throw std::invalid_argument(
        "GPTQ kernels: the AVX2/FMA path was asked for, but this CPU or build lacks it");
  return detail::portable_kernels();
}

void expect_view(const GptqView& layer) {
  const int64_t multiple = gptq_pack_multiple(layer.bits);
  if (layer.in_features <= 0 || layer.out_features <= 0 || layer.groups <= 0 ||
      layer.in_features % multiple != 0 || layer.out_features % multiple != 0)
    throw std::invalid_argument("GPTQ kernels: a " + std::to_string(layer.bits) +
                                "-bit layer of [out, in] = [" + std::to_string(layer.out_features) +
                                ", " + std::to_string(layer.in_features) + "] with " +
                                std::to_string(layer.groups) + " groups cannot be packed");
}

// Calls body(k0, k1) for the tiles of inputs [0, in).
template <class Body>
void for_each_tile(int64_t in_features, Body&& body) {
  for (int64_t k0 = 0; k0 < in_features; k0 += detail::kTileInputs)
    body(k0, std::min(in_features, k0 + detail::kTileInputs));
}

}  // namespace

int64_t sequential_group_size(const int32_t* g_idx, int64_t in_features, int64_t groups) {
  if (groups <= 0 || in_features % groups != 0) return 0;
  const int64_t size = in_features / groups;
  for (int64_t i = 0; i < in_features; ++i)
    if (g_idx[i] != i / size) return 0;
  return size;
}

GptqView gptq_view(const GptqTensors& packed) {
  GptqView view;
  view.bits = packed.bits;
  view.out_features = packed.out_features;
  view.in_features = packed.in_features;
  view.groups = packed.groups;
  view.qweight = packed.qweight.data();
  view.qzeros = packed.qzeros.data();
  view.scales = packed.scales.data();
  view.g_idx = packed.g_idx.data();
  view.sequential_group_size = sequential_group_size(view.g_idx, packed.in_features, packed.groups);
  return view;
}

bool cpu_has_avx2_kernels() {
  return detail::avx2_kernels() != nullptr;
}

void gptq_dequantize(const GptqView& layer, float* weight, CpuKernel kernel) {
  expect_view(layer);
  const KernelSet& kernels = pick(kernel);
  const int64_t in = layer.in_features;
  parallel_columns(layer.out_features, detail::kColumnBlock, [&](int64_t c0, int64_t c1) {
    const BlockParams params = detail::decode_block_params(layer, c0, c1 - c0);
    std::vector<float> tile(static_cast<size_t>(detail::kTileInputs * params.width));
    for_each_tile(in, [&](int64_t k0, int64_t k1) {
      kernels.dequantize_tile(layer, params, 0, params.width, k0, k1, tile.data());
      for (int64_t c = 0; c < params.width; ++c)
        for (int64_t k = k0; k < k1; ++k)
          weight[(c0 + c) * in + k] = tile[static_cast<size_t>((k - k0) * params.width + c)];
    });
  });
}

void gptq_matmul(const GptqView& layer, const float* x, int64_t tokens, float* y,
                 CpuKernel kernel) {
  expect_view(layer);
  const KernelSet& kernels = pick(kernel);
  const int64_t in = layer.in_features, out = layer.out_features;
  parallel_columns(out, detail::kColumnBlock, [&](int64_t c0, int64_t c1) {
    const BlockParams params = detail::decode_block_params(layer, c0, c1 - c0);
    if (tokens == 1) {
      kernels.matvec(layer, params, 0, params.width, x, y);
      return;
    }
    for (int64_t t = 0; t < tokens; ++t) std::fill(y + t * out + c0, y + t * out + c1, 0.0f);
    std::vector<float> tile(static_cast<size_t>(detail::kTileInputs * params.width));
    for_each_tile(in, [&](int64_t k0, int64_t k1) {
      kernels.dequantize_tile(layer, params, 0, params.width, k0, k1, tile.data());
      kernels.tile_product(x + k0, in, tokens, tile.data(), k1 - k0, params.width, 0, params.width,
                           y + c0, out);
    });
  });
}

}  // namespace lmf::quant
