// RMSNorm, SwiGLU and the rotary embedding as single CUDA kernels with their backward
// passes (Note [Fused kernels], kernels/fused_kernels.cu), as autograd functions. Each
// `*_applies` says whether the kernel takes these tensors (a CUDA build, CUDA tensors of
// fp32/fp16/bf16, rows that 16-byte vectors divide); where it does not, callers keep
// libtorch's composite operations, which compute the same values.
#pragma once

#include <torch/torch.h>

namespace lmf::torch_backend::fused {

// weight * to_dtype(x * rsqrt(mean(x², -1) + eps)), as transformers' RMSNorm; keeps x (not
// an fp32 copy) and one fp32 rstd per row for the backward pass.
bool rms_norm_applies(const torch::Tensor& x, const torch::Tensor& weight);
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// silu(gate) * up; keeps gate and up only.
bool swiglu_applies(const torch::Tensor& gate, const torch::Tensor& up);
torch::Tensor swiglu(const torch::Tensor& gate, const torch::Tensor& up);
// The same of one [..., 2·I] projection output holding gate then up: its gradient is
// written as one tensor, not two zero-padded halves.
bool swiglu_packed_applies(const torch::Tensor& gate_up);
torch::Tensor swiglu_packed(const torch::Tensor& gate_up);

// x * cos + rotate_half(x) * sin for x [B,H,T,D] (last dimension contiguous) and cos/sin
// [B,1,T,D] contiguous in x's dtype.
bool rope_applies(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

// A decode step (no grad): q [B,H,1,D] rotated (returned), k [B,KV,1,D] rotated and v
// copied into the caches [B,KV,capacity,D] at position `slot` (device int64 [1]) — what
// RotaryTable::rotate and KvCache::write_slot do in five kernels, in one.
bool rope_and_store_applies(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& k_cache);
torch::Tensor rope_and_store(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& k_cache,
                             const torch::Tensor& v_cache, const torch::Tensor& slot);

}  // namespace lmf::torch_backend::fused
