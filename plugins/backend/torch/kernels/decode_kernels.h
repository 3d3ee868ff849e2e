// Launchers of the decode-step kernels (decode_kernels.cu, Note [Decode kernels]): a
// matrix-vector product with the norm before it and the residual add or SwiGLU after it,
// and attention of one query per sequence over a KV cache. Plain pointers and sizes, as
// in fused_kernels.h; `stream` is a cudaStream_t.
#pragma once

#include "kernels/fused_kernels.h"

#include <cstdint>

namespace lmf::torch_backend::kernels {

// y = epilogue(W · prologue(x)) for one input vector x [width] and W [rows, width]
// (rows `weight_stride` elements apart, 16-byte aligned, width a multiple of the vector
// width). Each step rounds where the unfused decoder rounds:
//   prologue: with `norm_weight`, x → norm_weight * to_dtype(x * rsqrt(mean(x²) + eps))
//   output:   a = to_dtype(W·x + bias), the sum in fp32 (bias optional)
//   epilogue: with `residual`: y = to_dtype(residual + a);
//             with `swiglu`: W holds gate rows then up rows, y [rows/2] =
//             to_dtype(to_dtype(silu(a_gate)) * a_up);
//             with `rope.cos`: W holds q/k/v's rows (q_rows, then kv_rows of k and of v,
//             heads of head_dim rows each); the rotary embedding turns a's q and k heads
//             as rope_and_store does, y = (rotated q, rotated k, v), and k and v are
//             written into the caches at position *slot;
//             otherwise y = a.
struct GemvRope {
  const void* cos = nullptr;  // [head_dim]: this step's angles
  const void* sin = nullptr;
  int64_t head_dim = 0, q_rows = 0, kv_rows = 0;
  void* k_cache = nullptr;  // [kv heads, capacity, head_dim], both caches alike
  void* v_cache = nullptr;
  int64_t cache_head_stride = 0, cache_position_stride = 0;
  const int64_t* slot = nullptr;  // device int64
};
struct GemvArgs {
  const void* weight = nullptr;
  int64_t rows = 0, width = 0, weight_stride = 0;
  const void* x = nullptr;
  const void* norm_weight = nullptr;
  float eps = 0.f;
  const void* bias = nullptr;
  const void* residual = nullptr;
  bool swiglu = false;
  GemvRope rope;
  void* y = nullptr;
};
// The widest x the kernel normalises (it holds the normalised x in shared memory); x
// without the norm may be any width.
int64_t gemv_max_width(Dtype dtype);
void gemv(Dtype dtype, const GemvArgs& args, void* stream);

// softmax(q·kᵀ · scale + mask) · v for one query per sequence, q [B, H, D] (any batch and
// head strides), caches [B, KV, capacity, D] (H a multiple of KV: grouped queries), over
// keys [0, keys) where keys = *slot + 1 when `slot` (a device int64) is given, else
// `max_keys`; `key_valid` [B, ≥ keys] (rows `key_valid_stride` apart; null: all valid)
// masks padding. out [B, H·D] contiguous, the layout o_proj reads. The softmax and the
// sums are fp32, out rounded once.
struct DecodeAttentionArgs {
  const void* q = nullptr;
  int64_t q_strides[2] = {0, 0};  // batch, head
  const void* k_cache = nullptr;
  const void* v_cache = nullptr;
  int64_t cache_strides[3] = {0, 0, 0};  // batch, head, position (the same for both)
  int64_t batch = 0, heads = 0, kv_heads = 0, head_dim = 0;
  int64_t max_keys = 0;  // with `slot`: the cache's capacity
  const int64_t* slot = nullptr;
  const bool* key_valid = nullptr;
  int64_t key_valid_stride = 0;
  float scale = 1.f;
  void* out = nullptr;
  // Scratch: decode_attention_workspace(...) floats and batch·heads ints that start
  // at zero (and are left at zero).
  float* workspace = nullptr;
  int* counters = nullptr;
};
bool decode_attention_supports(int64_t heads, int64_t kv_heads, int64_t head_dim);
// Floats of workspace enough for any call over at most `max_keys` keys.
int64_t decode_attention_workspace(int64_t batch, int64_t heads, int64_t head_dim, int64_t max_keys);
void decode_attention(Dtype dtype, const DecodeAttentionArgs& args, void* stream);

}  // namespace lmf::torch_backend::kernels
