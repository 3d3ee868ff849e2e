// The AVX2/FMA versions of the GPTQ kernel pieces (Note [GPTQ CPU kernels]). Compiled for
// any x86-64 through GCC's target attributes, and only used after the CPU said it has AVX2
// and FMA; elsewhere avx2_kernels() is nullptr.
#include "plugins/quantizer/common/gptq_kernel_parts.h"

#include <utility>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LMF_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace lmf::quant::detail {

#ifdef LMF_AVX2
namespace {

// Calls f(std::integral_constant<int, J>{}) for J = 0 .. N-1, so that each packed value's
// word and shift are compile-time constants.
template <int N, class F>
LMF_AVX2 inline void unrolled(F&& f) {
  [&]<int... J>(std::integer_sequence<int, J...>) {
    (f(std::integral_constant<int, J>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

// The words of one bundle for 8 columns.
template <int Bits>
struct BundleWords {
  __m256i word[Bundle<Bits>::kWords];
};

template <int Bits>
LMF_AVX2 inline BundleWords<Bits> load_bundle(const int32_t* column, int64_t stride) {
  BundleWords<Bits> words;
  for (int w = 0; w < Bundle<Bits>::kWords; ++w)
    words.word[w] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(column + w * stride));
  return words;
}

// Value J of the bundle, for 8 columns, as float (exact: a small integer).
template <int Bits, int J>
LMF_AVX2 inline __m256 code_of(const BundleWords<Bits>& words) {
  constexpr int kOffset = J * Bits, kWord = kOffset >> 5, kShift = kOffset & 31;
  __m256i value = _mm256_srli_epi32(words.word[kWord], kShift);
  if constexpr (kShift + Bits > 32)
    value = _mm256_or_si256(value, _mm256_slli_epi32(words.word[kWord + 1], 32 - kShift));
  if constexpr (kShift + Bits != 32)  // the top value of a word needs no mask after the shift
    value = _mm256_and_si256(value, _mm256_set1_epi32((1 << Bits) - 1));
  return _mm256_cvtepi32_ps(value);
}

// y for the columns [c, c + 8V) of the block, straight from the packed words.
template <int Bits, int V>
LMF_AVX2 void matvec_columns(const GptqView& layer, const BlockParams& params, int64_t c,
                             const float* x, float* y) {
  using B = Bundle<Bits>;
  const int64_t out = layer.out_features;
  const int32_t* first_column = layer.qweight + params.c0 + c;
  __m256 total[V];
  for (int v = 0; v < V; ++v) total[v] = _mm256_setzero_ps();
  const int64_t group_size = layer.sequential_group_size;

  if (group_size > 0 && group_size % B::kValues == 0) {
    // Sequential groups: Σ x_i (code - zero) per group, times the group's scale once.
    const int64_t bundles_per_group = group_size / B::kValues;
    for (int64_t g = 0; g < layer.groups; ++g) {
      __m256 acc[V], zero[V];
      for (int v = 0; v < V; ++v) {
        acc[v] = _mm256_setzero_ps();
        zero[v] = _mm256_loadu_ps(params.zero_row(g) + c + 8 * v);
      }
      for (int64_t b = g * bundles_per_group; b < (g + 1) * bundles_per_group; ++b) {
        BundleWords<Bits> words[V];
        for (int v = 0; v < V; ++v)
          words[v] = load_bundle<Bits>(first_column + b * B::kWords * out + 8 * v, out);
        const float* xb = x + b * B::kValues;
        unrolled<B::kValues>([&](auto j) LMF_AVX2 {
          constexpr int J = decltype(j)::value;
          const __m256 xj = _mm256_broadcast_ss(xb + J);
          for (int v = 0; v < V; ++v)
            acc[v] =
                _mm256_fmadd_ps(xj, _mm256_sub_ps(code_of<Bits, J>(words[v]), zero[v]), acc[v]);
        });
      }
      for (int v = 0; v < V; ++v)
        total[v] =
            _mm256_fmadd_ps(_mm256_loadu_ps(params.scale_row(g) + c + 8 * v), acc[v], total[v]);
    }
  } else {
    // Any g_idx (act-order): each input brings its own group's scale and zero.
    for (int64_t b = 0; b < layer.in_features / B::kValues; ++b) {
      BundleWords<Bits> words[V];
      for (int v = 0; v < V; ++v)
        words[v] = load_bundle<Bits>(first_column + b * B::kWords * out + 8 * v, out);
      unrolled<B::kValues>([&](auto j) LMF_AVX2 {
        constexpr int J = decltype(j)::value;
        const int64_t i = b * B::kValues + J;
        const int64_t g = layer.g_idx[i];
        const __m256 xj = _mm256_broadcast_ss(x + i);
        for (int v = 0; v < V; ++v) {
          const __m256 code = code_of<Bits, J>(words[v]);
          const __m256 zero = _mm256_loadu_ps(params.zero_row(g) + c + 8 * v);
          const __m256 scaled_x =
              _mm256_mul_ps(xj, _mm256_loadu_ps(params.scale_row(g) + c + 8 * v));
          total[v] = _mm256_fmadd_ps(scaled_x, _mm256_sub_ps(code, zero), total[v]);
        }
      });
    }
  }
  for (int v = 0; v < V; ++v) _mm256_storeu_ps(y + params.c0 + c + 8 * v, total[v]);
}

template <int Bits>
LMF_AVX2 void matvec_avx2(const GptqView& layer, const BlockParams& params, int64_t cb, int64_t ce,
                          const float* x, float* y) {
  int64_t c = cb;
  for (; c + 16 <= ce; c += 16) matvec_columns<Bits, 2>(layer, params, c, x, y);
  for (; c + 8 <= ce; c += 8) matvec_columns<Bits, 1>(layer, params, c, x, y);
  if (c < ce) portable_kernels().matvec(layer, params, c, ce, x, y);
}

template <int Bits>
LMF_AVX2 void dequantize_tile_avx2(const GptqView& layer, const BlockParams& params, int64_t cb,
                                   int64_t ce, int64_t k0, int64_t k1, float* tile) {
  using B = Bundle<Bits>;
  const int64_t out = layer.out_features;
  int64_t c = cb;
  for (; c + 8 <= ce; c += 8) {
    for (int64_t b = k0 / B::kValues; b < k1 / B::kValues; ++b) {
      const BundleWords<Bits> words =
          load_bundle<Bits>(layer.qweight + b * B::kWords * out + params.c0 + c, out);
      unrolled<B::kValues>([&](auto j) LMF_AVX2 {
        constexpr int J = decltype(j)::value;
        const int64_t i = b * B::kValues + J;
        const int64_t g = layer.g_idx[i];
        const __m256 zero = _mm256_loadu_ps(params.zero_row(g) + c);
        const __m256 scale = _mm256_loadu_ps(params.scale_row(g) + c);
        _mm256_storeu_ps(tile + (i - k0) * params.width + c,
                         _mm256_mul_ps(scale, _mm256_sub_ps(code_of<Bits, J>(words), zero)));
      });
    }
  }
  if (c < ce) portable_kernels().dequantize_tile(layer, params, c, ce, k0, k1, tile);
}

// y[t][c .. c+16) += Σ_k x[t][k] tile[k][c .. c+16) for T tokens at once: 2T accumulators.
template <int T>
LMF_AVX2 void tile_product_block(const float* x, int64_t x_stride, const float* tile,
                                 int64_t inputs, int64_t width, int64_t c, float* y,
                                 int64_t y_stride) {
  __m256 acc[T][2];
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < 2; ++v) acc[t][v] = _mm256_loadu_ps(y + t * y_stride + c + 8 * v);
  for (int64_t k = 0; k < inputs; ++k) {
    const __m256 w0 = _mm256_loadu_ps(tile + k * width + c);
    const __m256 w1 = _mm256_loadu_ps(tile + k * width + c + 8);
    for (int t = 0; t < T; ++t) {
      const __m256 xk = _mm256_broadcast_ss(x + t * x_stride + k);
      acc[t][0] = _mm256_fmadd_ps(xk, w0, acc[t][0]);
      acc[t][1] = _mm256_fmadd_ps(xk, w1, acc[t][1]);
    }
  }
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < 2; ++v) _mm256_storeu_ps(y + t * y_stride + c + 8 * v, acc[t][v]);
}

LMF_AVX2 void tile_product_avx2(const float* x, int64_t x_stride, int64_t tokens, const float* tile,
                                int64_t inputs, int64_t width, int64_t cb, int64_t ce, float* y,
                                int64_t y_stride) {
  int64_t c = cb;
  for (; c + 16 <= ce; c += 16) {
    int64_t t = 0;
    for (; t + 4 <= tokens; t += 4)
      tile_product_block<4>(x + t * x_stride, x_stride, tile, inputs, width, c, y + t * y_stride,
                            y_stride);
    for (; t < tokens; ++t)
      tile_product_block<1>(x + t * x_stride, x_stride, tile, inputs, width, c, y + t * y_stride,
                            y_stride);
  }
  if (c < ce)
    portable_kernels().tile_product(x, x_stride, tokens, tile, inputs, width, c, ce, y, y_stride);
}

template <int Bits>
struct Avx2Kernels {
  static constexpr auto matvec = &matvec_avx2<Bits>;
  static constexpr auto dequantize_tile = &dequantize_tile_avx2<Bits>;
};

}  // namespace

const KernelSet* avx2_kernels() {
  static constexpr KernelSet kernels = kernel_set<Avx2Kernels>(&tile_product_avx2);
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported ? &kernels : nullptr;
}

#else

const KernelSet* avx2_kernels() {
  return nullptr;
}

#endif

}  // namespace lmf::quant::detail
