// A one-token step of one sequence through the decode kernels (Note [Decode kernels],
// kernels/decode_kernels.cu): 5 kernels a layer, the residual stream carried by the
// projections' epilogues, the rotary embedding and the cache write by q/k/v's.
#include "decoder.h"

#include "decode_ops.h"
#include "fused_ops.h"
#include "torch_compat.h"

#include <algorithm>
#include <cmath>

namespace lmf::torch_backend {

bool Decoder::decode_kernels_apply(const torch::Tensor& h, const ForwardContext& context) {
  if (!decode_kernels_ || !fused_kernels_ || context.cache == nullptr || h.dim() != 3 || h.size(0) != 1 || h.size(1) != 1 ||
      torch::GradMode::is_enabled())
    return false;
  // The weights' layouts change only with the graph epoch (adapters, merges, kernels).
  if (decode_kernels_epoch_ == graph_epoch()) return decode_kernels_take_layers_;
  decode_kernels_epoch_ = graph_epoch();
  decode_kernels_take_layers_ = std::all_of(layers_.begin(), layers_.end(), [&](const DecoderLayer& layer) {
    for (const Linear* linear : {&layer.q_proj, &layer.k_proj, &layer.v_proj, &layer.o_proj, &layer.gate_proj,
                                 &layer.up_proj, &layer.down_proj})
      if (linear->adapter) return false;
    const double eps = config_.rms_norm_eps;
    return !layer.o_proj.bias.defined() && !layer.down_proj.bias.defined() &&
           fused::gemv_applies(layer.qkv_proj.weight, {layer.qkv_proj.bias, layer.input_norm, eps}, h) &&
           fused::gemv_applies(layer.o_proj.weight, {}, h) &&
           fused::gemv_applies(layer.gate_up_proj.weight,
                               {layer.gate_up_proj.bias, layer.post_attention_norm, eps, {}, /*swiglu=*/true}, h) &&
           fused::gemv_applies(layer.down_proj.weight, {}, h);
  });
  return decode_kernels_take_layers_;
}

torch::Tensor Decoder::decode_kernel_layers(torch::Tensor h, const ForwardContext& context,
                                            const RotaryTable::Angles& angles) {
  ++decode_kernel_passes_;
  KvCache& cache = *context.cache;
  const int64_t d = config_.head_dim, q_size = config_.num_heads * d, kv_size = config_.num_kv_heads * d;
  if (!context.static_slot.defined()) cache.check_room(1);
  // Without a static slot (no graph), this step's slot is the cache's length.
  const torch::Tensor slot = context.static_slot.defined()
                                 ? context.static_slot
                                 : torch::full({1}, cache.length(), torch::TensorOptions().dtype(torch::kInt64))
                                       .to(device_, /*non_blocking=*/true);
  const int64_t keys = context.static_slot.defined() ? cache.capacity() : cache.length() + 1;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  auto heads = [&](const torch::Tensor& t, int64_t count) { return t.view({1, 1, count, d}).transpose(1, 2); };
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DecoderLayer& layer = layers_[i];
    const torch::Tensor& k_cache = cache.keys(static_cast<int64_t>(i));
    const torch::Tensor& v_cache = cache.values(static_cast<int64_t>(i));
    fused::GemvEpilogue qkv_epilogue{layer.qkv_proj.bias, layer.input_norm, config_.rms_norm_eps};
    qkv_epilogue.rope = {angles.cos, angles.sin, k_cache, v_cache, slot, config_.num_heads, config_.num_kv_heads};
    torch::Tensor q;
    if (fused::gemv_rope_applies(layer.qkv_proj.weight, qkv_epilogue.rope, h)) {
      // The rotary embedding and the cache write in the projection's epilogue.
      q = heads(fused::gemv(h, layer.qkv_proj.weight, qkv_epilogue).narrow(-1, 0, q_size), config_.num_heads);
    } else {
      qkv_epilogue.rope = {};
      torch::Tensor qkv = fused::gemv(h, layer.qkv_proj.weight, qkv_epilogue);
      q = heads(qkv.narrow(-1, 0, q_size), config_.num_heads);
      torch::Tensor k = heads(qkv.narrow(-1, q_size, kv_size), config_.num_kv_heads);
      torch::Tensor v = heads(qkv.narrow(-1, q_size + kv_size, kv_size), config_.num_kv_heads);
      if (fused::rope_and_store_applies(q, k, v, angles.cos, angles.sin, k_cache)) {
        q = fused::rope_and_store(q, k, v, angles.cos, angles.sin, k_cache, v_cache, slot);
      } else {
        std::tie(q, k) = RotaryTable::rotate(q, k, angles, /*fused=*/true);
        cache.write_slot(static_cast<int64_t>(i), k, v, slot);
        q = q.contiguous();
      }
    }
    torch::Tensor attended;
    if (fused::decode_attention_applies(q, k_cache, context.key_valid)) {
      attended = fused::decode_attention(q, k_cache, v_cache, context.key_valid, context.static_slot, keys, scale,
                                         cache.attention_scratch());
    } else {
      torch::Tensor mask;
      if (context.key_valid.defined())
        mask = compat::fused_attention_mask(context.key_valid.narrow(1, 0, keys).view({1, 1, 1, keys}), dtype_,
                                            fused_attention_);
      attended = compat::attention(q, k_cache.narrow(2, 0, keys), v_cache.narrow(2, 0, keys), mask, scale,
                                   fused_attention_, /*causal=*/false)
                     .transpose(1, 2)
                     .reshape({1, 1, q_size});
    }
    h = fused::gemv(attended, layer.o_proj.weight, {{}, {}, 0.0, h});
    torch::Tensor act = fused::gemv(
        h, layer.gate_up_proj.weight, {layer.gate_up_proj.bias, layer.post_attention_norm, config_.rms_norm_eps, {}, true});
    h = fused::gemv(act, layer.down_proj.weight, {{}, {}, 0.0, h});
  }
  return h;
}

}  // namespace lmf::torch_backend
