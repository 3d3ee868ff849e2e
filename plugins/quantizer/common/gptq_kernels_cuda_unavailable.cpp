// The GPTQ CUDA kernels' entry points in a build without CUDA (no libtorch with CUDA, or no
// nvcc): gptq_cuda_kernels_compiled() is false and the rest throw, so that callers and tests
// link everywhere and ask first.
#include "plugins/quantizer/common/gptq_kernels_cuda.h"

#include <stdexcept>

namespace lmf::quant {
namespace {
[[noreturn]] void unavailable() {
  throw std::logic_error("GPTQ CUDA kernels called in a build without CUDA");
}
}  // namespace

bool gptq_cuda_kernels_compiled() {
  return false;
}

void gptq_dequantize_cuda(const GptqView&, DeviceDtype, void*, void*) {
  unavailable();
}

GptqMatvecPlan gptq_matvec_plan(const GptqView&, DeviceDtype, int64_t, MatvecKernel, int) {
  unavailable();
}

void gptq_matvec_cuda(const GptqView&, const GptqMatvecPlan&, const GptqMatvecArgs&, void*) {
  unavailable();
}

}  // namespace lmf::quant
