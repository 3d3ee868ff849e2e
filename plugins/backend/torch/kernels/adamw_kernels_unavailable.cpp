// The launcher in a build without the CUDA kernels: training/adamw.cpp never calls it
// there (LMF_FUSED_KERNELS is 0), but the symbol must exist.
#include "kernels/adamw_kernels.h"

#include <stdexcept>

namespace lmf::torch_backend::kernels {

void adamw_mixed_precision_step(Dtype, const AdamWTensor*, int64_t, const AdamWHyperparameters&,
                                const float*, void*) {
  throw std::logic_error("the mixed-precision AdamW kernel called in a build without CUDA");
}

}  // namespace lmf::torch_backend::kernels
