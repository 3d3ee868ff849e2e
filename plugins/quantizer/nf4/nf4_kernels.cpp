#include "plugins/quantizer/nf4/nf4_kernels.h"

#include "plugins/quantizer/common/parallel_columns.h"
#include "plugins/quantizer/nf4/nf4_kernel_parts.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace lmf::quant::nf4 {
namespace {

using detail::for_each_segment;
using detail::SegmentKernels;

const SegmentKernels& choose(CpuKernel kernel) {
  switch (kernel) {
    case CpuKernel::kPortable:
      return detail::portable_kernels();
    case CpuKernel::kAvx2:
      if (!cpu_has_avx2_kernels())
        throw std::invalid_argument("the AVX2/FMA NF4 kernels need a CPU with AVX2 and FMA");
      return *detail::avx2_kernels();
    case CpuKernel::kAuto:
      break;
  }
  return cpu_has_avx2_kernels() ? *detail::avx2_kernels() : detail::portable_kernels();
}

// Rows per parallel task: about 64K weights each.
int64_t rows_per_task(const Nf4View& layer) {
  return std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, layer.in_features));
}

void dequantize_row(const SegmentKernels& k, const Nf4View& layer, int64_t row, float* out) {
  const int64_t begin = row * layer.in_features;
  for_each_segment(layer, row, [&](int64_t block, int64_t first, int64_t count) {
    k.dequantize(layer.packed, first, count, layer.absmax[block], out + (first - begin));
  });
}

}  // namespace

bool cpu_has_avx2_kernels() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = detail::avx2_kernels() != nullptr && __builtin_cpu_supports("avx2") &&
                          __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

void nf4_dequantize(const Nf4View& layer, float* weight, CpuKernel kernel) {
  const SegmentKernels& k = choose(kernel);
  parallel_columns(layer.out_features, rows_per_task(layer), [&](int64_t first, int64_t last) {
    for (int64_t row = first; row < last; ++row)
      dequantize_row(k, layer, row, weight + row * layer.in_features);
  });
}

void nf4_matmul(const Nf4View& layer, const float* x, int64_t tokens, float* y, CpuKernel kernel) {
  const SegmentKernels& k = choose(kernel);
  const int64_t in = layer.in_features, out = layer.out_features;
  if (tokens == 1) {
    parallel_columns(out, rows_per_task(layer), [&](int64_t first_row, int64_t last_row) {
      for (int64_t row = first_row; row < last_row; ++row) y[row] = k.packed_row_dot(layer, row, x);
    });
    return;
  }
  parallel_columns(out, rows_per_task(layer), [&](int64_t first_row, int64_t last_row) {
    std::vector<float> weights(static_cast<size_t>(in));
    for (int64_t row = first_row; row < last_row; ++row) {
      dequantize_row(k, layer, row, weights.data());
      for (int64_t t = 0; t < tokens; ++t) y[t * out + row] = k.dot(x + t * in, weights.data(), in);
    }
  });
}

}  // namespace lmf::quant::nf4
