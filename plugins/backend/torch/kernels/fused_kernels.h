// Launchers of the fused CUDA kernels (fused_kernels.cu): RMSNorm, SwiGLU and rotary
// embedding, forward and backward. Plain pointers and sizes, no libtorch types, so that
// nvcc compiles the kernels without libtorch's headers; fused_ops.cpp wraps them in
// autograd functions. `stream` is a cudaStream_t. Element types: 0 fp32, 1 fp16, 2 bf16.
#pragma once

#include <cstdint>

namespace lmf::torch_backend::kernels {

enum class Dtype : int { f32 = 0, f16 = 1, bf16 = 2 };

// Elements one 16-byte vector holds; rows (and row strides) must be multiples of it and
// pointers 16-byte aligned (the wrappers check, and fall back to libtorch otherwise).
int vector_width(Dtype dtype);

// y = w * to_dtype(x * rstd), rstd = 1/sqrt(mean(x²) + eps) in fp32, over `rows` rows of
// `width` contiguous elements; rstd [rows] fp32 is written for the backward pass.
void rms_norm_forward(Dtype dtype, const void* x, const void* w, void* y, float* rstd, int64_t rows,
                      int64_t width, float eps, void* stream);

// dx from dy, x, w, rstd. When `dw_partial` is not null, also the weight's gradient as
// per-block fp32 partial sums [blocks, width] (the caller sums over blocks);
// rms_norm_backward_blocks(rows) says how many.
int64_t rms_norm_backward_blocks(int64_t rows);
int64_t rms_norm_max_width(Dtype dtype);  // the widest row the backward kernel takes
void rms_norm_backward(Dtype dtype, const void* dy, const void* x, const void* w, const float* rstd,
                       void* dx, float* dw_partial, int64_t rows, int64_t width, void* stream);

// out = to_dtype(silu(gate)) * up over [rows, width]; gate and up rows are `gate_stride`
// and `up_stride` elements apart (views of one [rows, 2·width] projection), out contiguous.
void swiglu_forward(Dtype dtype, const void* gate, int64_t gate_stride, const void* up, int64_t up_stride,
                    void* out, int64_t rows, int64_t width, void* stream);
// d_gate and d_up (rows `d_gate_stride`/`d_up_stride` apart) from d_out (contiguous).
void swiglu_backward(Dtype dtype, const void* d_out, const void* gate, int64_t gate_stride, const void* up,
                     int64_t up_stride, void* d_gate, int64_t d_gate_stride, void* d_up, int64_t d_up_stride,
                     int64_t rows, int64_t width, void* stream);

// Rotary embedding of x [B,H,T,D] (any strides with the last dimension contiguous) by
// cos/sin [B,T,D] (contiguous, x's dtype): out = x·cos + rotate_half(x)·sin, rounded as
// libtorch rounds each operation. `inverse` computes the backward pass instead (x = dy,
// out = dx): dy·cos + rotate_halfᵀ(dy·sin).
struct RopeShape {
  int64_t batch, heads, steps, head_dim;
  int64_t in_strides[3];   // x: batch, head, step
  int64_t out_strides[3];  // out
};
void rope(Dtype dtype, const void* x, const void* cos, const void* sin, void* out, const RopeShape& shape,
          bool inverse, void* stream);

// A decode step's rotary embedding and cache write in one kernel: q [B,H,1,D] rotated into
// q_out, k [B,KV,1,D] rotated and v copied into the caches [B,KV,capacity,D] at the
// position held in `slot` (device int64), cos/sin [B,1,1,D].
struct RopeStoreShape {
  int64_t batch, heads, kv_heads, head_dim;
  int64_t q_strides[2], k_strides[2], v_strides[2];  // batch, head (the step dimension has 1)
  int64_t q_out_strides[2];
  int64_t cache_strides[3];  // batch, head, position; the same for both caches
};
void rope_and_store(Dtype dtype, const void* q, const void* k, const void* v, const void* cos, const void* sin,
                    void* q_out, void* k_cache, void* v_cache, const int64_t* slot, const RopeStoreShape& shape,
                    void* stream);

}  // namespace lmf::torch_backend::kernels
