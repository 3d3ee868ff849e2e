// The decode kernels' launchers in a build without CUDA kernels (decode_ops.cpp never
// calls them there: every *_applies is false without LMF_FUSED_KERNELS), for the linker.
#include "kernels/decode_kernels.h"

#include <stdexcept>

namespace lmf::torch_backend::kernels {
namespace {
[[noreturn]] void unavailable() {
  throw std::logic_error("decode CUDA kernels called in a build without CUDA");
}
}  // namespace

int64_t gemv_max_width(Dtype) { return 0; }
void gemv(Dtype, const GemvArgs&, void*) { unavailable(); }
bool decode_attention_supports(int64_t, int64_t, int64_t) { return false; }
int64_t decode_attention_workspace(int64_t, int64_t, int64_t, int64_t) { return 0; }
void decode_attention(Dtype, const DecodeAttentionArgs&, void*) { unavailable(); }

}  // namespace lmf::torch_backend::kernels
