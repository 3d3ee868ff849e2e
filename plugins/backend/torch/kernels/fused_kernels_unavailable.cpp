// The launchers in a build without the CUDA kernels (no CUDA, or no nvcc): fused_ops.cpp
// never calls them there (every *_applies is false without LMF_FUSED_KERNELS), but the
// symbols must exist.
#include "kernels/fused_kernels.h"

#include <stdexcept>

namespace lmf::torch_backend::kernels {
namespace {
[[noreturn]] void unavailable() {
  throw std::logic_error("fused CUDA kernels called in a build without CUDA");
}
}  // namespace

int vector_width(Dtype dtype) { return dtype == Dtype::f32 ? 4 : 8; }
void rms_norm_forward(Dtype, const void*, const void*, void*, float*, int64_t, int64_t, float, void*) { unavailable(); }
int64_t rms_norm_backward_blocks(int64_t) { unavailable(); }
int64_t rms_norm_max_width(Dtype) { return 0; }
void rms_norm_backward(Dtype, const void*, const void*, const void*, const float*, void*, float*, int64_t, int64_t,
                       void*) { unavailable(); }
void swiglu_forward(Dtype, const void*, int64_t, const void*, int64_t, void*, int64_t, int64_t, void*) { unavailable(); }
void swiglu_backward(Dtype, const void*, const void*, int64_t, const void*, int64_t, void*, int64_t, void*, int64_t,
                     int64_t, int64_t, void*) { unavailable(); }
void rope(Dtype, const void*, const void*, const void*, void*, const RopeShape&, bool, void*) { unavailable(); }
void rope_and_store(Dtype, const void*, const void*, const void*, const void*, const void*, void*, void*, void*,
                    const int64_t*, const RopeStoreShape&, void*) { unavailable(); }

}  // namespace lmf::torch_backend::kernels
