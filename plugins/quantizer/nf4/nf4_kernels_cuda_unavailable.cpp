// The NF4 CUDA kernels' entry points in a build without CUDA (no libtorch with CUDA, or no
// nvcc): nf4_cuda_kernels_compiled() is false and the rest throw, so that callers and tests
// link everywhere and ask first.
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"

#include <stdexcept>

namespace lmf::quant::nf4 {
namespace {
[[noreturn]] void unavailable() {
  throw std::logic_error("NF4 CUDA kernels called in a build without CUDA");
}
}  // namespace

bool nf4_cuda_kernels_compiled() {
  return false;
}

void nf4_dequantize_cuda(const Nf4StoredView&, CudaDtype, void*, void*) {
  unavailable();
}

void nf4_matmul_cuda(const Nf4StoredView&, CudaDtype, const void*, int64_t, void*, void*) {
  unavailable();
}

}  // namespace lmf::quant::nf4
