// The launcher in a build without the CUDA kernels (no CUDA, or no nvcc):
// training/cross_entropy_rows.cpp never calls it there (cross_entropy_kernel_applies is
// false without LMF_FUSED_KERNELS), but the symbol must exist.
#include "kernels/cross_entropy_kernels.h"

#include <stdexcept>

namespace lmf::torch_backend::kernels {

void cross_entropy_rows(Dtype, void*, int64_t, const int64_t*, int64_t, float*, float*, int64_t,
                        int64_t, bool, void*) {
  throw std::logic_error("cross-entropy CUDA kernel called in a build without CUDA");
}

}  // namespace lmf::torch_backend::kernels
