// The decode-step kernels (Note [Decode kernels], kernels/decode_kernels.cu) on libtorch
// tensors, for inference (no autograd). Each `*_applies` says whether the kernel takes
// these tensors; where it does not, the decoder keeps its other path.
#pragma once

#include <torch/torch.h>

namespace lmf::torch_backend::fused {

// The rotary embedding and the KV-cache write of a decode step (rope_and_store's work) on
// the output of the fused q/k/v projection: W's rows are `heads` heads of q, then
// `kv_heads` heads of k and of v, head_dim = the caches' last size. After the bias, q's
// and k's heads are turned by cos/sin ([1, 1, 1, head_dim]: one sequence's one position),
// and k and v written into the caches [1, kv_heads, capacity, head_dim] at the position
// held in `slot` (device int64 [1]). The result holds the turned q, the turned k and v.
struct GemvRopeStore {
  torch::Tensor cos, sin;
  torch::Tensor k_cache, v_cache;
  torch::Tensor slot;
  int64_t heads = 0, kv_heads = 0;
};

// y = W · norm(x) + bias, then + residual, SwiGLU or the rotary embedding, for x of one row
// ([1, 1, width] or [width]): kernels::gemv. `norm_weight` (optional) applies RMSNorm with
// `eps` first; `residual` (x's shape with W's rows) is added after; `swiglu` reads W as gate
// rows then up rows and returns silu(gate)·up; `rope` (where its cos is defined) as above.
// The result has x's shape with the output width.
struct GemvEpilogue {
  torch::Tensor bias;
  torch::Tensor norm_weight;
  double eps = 0.0;
  torch::Tensor residual;
  bool swiglu = false;
  GemvRopeStore rope;
};
// Whether the kernel takes this weight, bias and norm weight for inputs like `like` (its
// dtype and device). Checked once per weight layout; gemv() itself requires x and the
// residual to be contiguous, aligned vectors of `like`'s kind (fresh activations are).
bool gemv_applies(const torch::Tensor& weight, const GemvEpilogue& epilogue, const torch::Tensor& like);
// Whether the kernel takes these angles, caches and slot for this q/k/v weight (cheap:
// checked every step, since the angles are the step's).
bool gemv_rope_applies(const torch::Tensor& weight, const GemvRopeStore& rope, const torch::Tensor& like);
torch::Tensor gemv(const torch::Tensor& x, const torch::Tensor& weight, const GemvEpilogue& epilogue);

// softmax(q·kᵀ·scale)·v of one query per sequence, q [B,H,1,D], over the keys of the
// caches [B,KV,capacity,D] at positions [0, keys) — keys = slot + 1 when `slot` (device
// int64 [1]) is given, else `keys` — masked by `key_valid` [B, ≥ keys] bool (undefined:
// all valid). Returns [B, 1, H·D], the layout o_proj reads.
// `scratch` holds the kernel's partial results between its blocks; its counters must be
// zero before a call, and are after one. The caller keeps it (KvCache does) so that no
// call allocates or clears anything — a captured decode step replays as it was.
struct DecodeAttentionScratch {
  torch::Tensor workspace;  // fp32
  torch::Tensor counters;   // int32, zeros
  // Enough for any call on caches of this shape, at most `capacity` keys.
  static DecodeAttentionScratch make(int64_t batch, int64_t heads, int64_t head_dim, int64_t capacity,
                                     torch::Device device);
};
bool decode_attention_applies(const torch::Tensor& q, const torch::Tensor& k_cache, const torch::Tensor& key_valid);
torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& k_cache, const torch::Tensor& v_cache,
                               const torch::Tensor& key_valid, const torch::Tensor& slot, int64_t keys, double scale,
                               const DecodeAttentionScratch& scratch);

}  // namespace lmf::torch_backend::fused
