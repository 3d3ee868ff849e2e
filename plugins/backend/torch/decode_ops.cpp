#include "decode_ops.h"

#include "kernel_tensors.h"
#include "kernels/decode_kernels.h"

#include <limits>

namespace lmf::torch_backend::fused {
namespace {

using namespace kernel_tensors;

bool inference(const torch::Tensor& t) { return !torch::GradMode::is_enabled() || !t.requires_grad(); }

// A contiguous, aligned vector of `size` elements of `like`'s dtype on its device.
bool vector_of(const torch::Tensor& t, int64_t size, const torch::Tensor& like) {
  return t.numel() == size && t.is_contiguous() && aligned(t) && t.scalar_type() == like.scalar_type() &&
         t.device() == like.device() && inference(t);
}

}  // namespace

bool gemv_applies(const torch::Tensor& weight, const GemvEpilogue& epilogue, const torch::Tensor& like) {
  if (!on_cuda(like) || !weight.defined() || weight.dim() != 2 || !inference(weight)) return false;
  const kernels::Dtype dtype = dtype_of(like);
  const int64_t rows = weight.size(0), width = weight.size(1), v = kernels::vector_width(dtype);
  if (weight.scalar_type() != like.scalar_type() || weight.device() != like.device() || weight.stride(1) != 1 ||
      weight.stride(0) % v != 0 || !aligned(weight) || width % v != 0 ||
      rows > std::numeric_limits<int>::max() || width / v > std::numeric_limits<int>::max())
    return false;
  if (epilogue.bias.defined() && !vector_of(epilogue.bias, rows, like)) return false;
  if (epilogue.norm_weight.defined() &&
      (!vector_of(epilogue.norm_weight, width, like) || width > kernels::gemv_max_width(dtype)))
    return false;
  if (epilogue.rope.cos.defined() &&
      (epilogue.swiglu || epilogue.residual.defined() || !gemv_rope_applies(weight, epilogue.rope, like)))
    return false;
  return !epilogue.swiglu || rows % 2 == 0;
}

bool gemv_rope_applies(const torch::Tensor& weight, const GemvRopeStore& rope, const torch::Tensor& like) {
  const torch::Tensor& k_cache = rope.k_cache;
  if (!on_cuda(like) || !weight.defined() || !k_cache.defined() || !rope.v_cache.defined() || !rope.slot.defined())
    return false;
  if (k_cache.dim() != 4 || k_cache.size(0) != 1 || k_cache.size(1) != rope.kv_heads || k_cache.stride(3) != 1 ||
      k_cache.scalar_type() != like.scalar_type() || k_cache.device() != like.device() || !inference(k_cache) ||
      rope.v_cache.sizes() != k_cache.sizes() || rope.v_cache.strides() != k_cache.strides() ||
      rope.v_cache.scalar_type() != k_cache.scalar_type() || rope.v_cache.device() != k_cache.device() ||
      !inference(rope.v_cache))
    return false;
  const int64_t head_dim = k_cache.size(3);
  if (head_dim % 2 != 0 || rope.heads <= 0 || rope.kv_heads <= 0 || weight.dim() != 2 ||
      weight.size(0) != (rope.heads + 2 * rope.kv_heads) * head_dim)
    return false;
  return vector_of(rope.cos, head_dim, like) && vector_of(rope.sin, head_dim, like) &&
         rope.slot.scalar_type() == torch::kInt64 && rope.slot.numel() >= 1 && rope.slot.device() == like.device();
}

torch::Tensor gemv(const torch::Tensor& x, const torch::Tensor& weight, const GemvEpilogue& epilogue) {
  const compat::DeviceScope scope(x.device());
  const int64_t rows = weight.size(0);
  TORCH_CHECK(vector_of(x, weight.size(1), weight), "gemv: x must be a contiguous aligned vector of ",
              weight.size(1), " elements of the weight's dtype");
  TORCH_CHECK(!epilogue.residual.defined() || (!epilogue.swiglu && vector_of(epilogue.residual, rows, weight)),
              "gemv: the residual must be a contiguous aligned vector of ", rows, " elements");
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = epilogue.swiglu ? rows / 2 : rows;
  torch::Tensor y = torch::empty(shape, x.options());
  kernels::GemvArgs args;
  args.weight = weight.data_ptr();
  args.rows = rows;
  args.width = weight.size(1);
  args.weight_stride = weight.stride(0);
  args.x = x.data_ptr();
  if (epilogue.norm_weight.defined()) args.norm_weight = epilogue.norm_weight.data_ptr();
  args.eps = static_cast<float>(epilogue.eps);
  if (epilogue.bias.defined()) args.bias = epilogue.bias.data_ptr();
  if (epilogue.residual.defined()) args.residual = epilogue.residual.data_ptr();
  args.swiglu = epilogue.swiglu;
  if (const GemvRopeStore& rope = epilogue.rope; rope.cos.defined()) {
    TORCH_CHECK(gemv_rope_applies(weight, rope, x) && !epilogue.residual.defined() && !epilogue.swiglu,
                "gemv: the rotary embedding does not apply to these angles, caches and slot");
    args.rope.cos = rope.cos.data_ptr();
    args.rope.sin = rope.sin.data_ptr();
    args.rope.head_dim = rope.k_cache.size(3);
    args.rope.q_rows = rope.heads * args.rope.head_dim;
    args.rope.kv_rows = rope.kv_heads * args.rope.head_dim;
    args.rope.k_cache = rope.k_cache.data_ptr();
    args.rope.v_cache = rope.v_cache.data_ptr();
    args.rope.cache_head_stride = rope.k_cache.stride(1);
    args.rope.cache_position_stride = rope.k_cache.stride(2);
    args.rope.slot = rope.slot.data_ptr<int64_t>();
  }
  args.y = y.data_ptr();
  kernels::gemv(dtype_of(x), args, stream_of(x));
  return y;
}

bool decode_attention_applies(const torch::Tensor& q, const torch::Tensor& k_cache, const torch::Tensor& key_valid) {
  if (!on_cuda(q) || q.dim() != 4 || q.size(2) != 1 || q.stride(3) != 1 || !inference(q)) return false;
  // 16-byte loads of q's heads; the grid's second dimension is batch·heads.
  const int64_t v = kernels::vector_width(dtype_of(q));
  if (!aligned(q) || q.stride(0) % v != 0 || q.stride(1) % v != 0 || q.size(0) * q.size(1) > 65535) return false;
  if (k_cache.dim() != 4 || !k_cache.is_contiguous() || !aligned(k_cache) || k_cache.scalar_type() != q.scalar_type() ||
      k_cache.device() != q.device() || k_cache.size(0) != q.size(0) || k_cache.size(3) != q.size(3))
    return false;
  if (!kernels::decode_attention_supports(q.size(1), k_cache.size(1), q.size(3))) return false;
  return !key_valid.defined() || (key_valid.scalar_type() == torch::kBool && key_valid.dim() == 2 &&
                                  key_valid.size(0) == q.size(0) && key_valid.stride(1) == 1 &&
                                  key_valid.device() == q.device());
}

torch::Tensor decode_attention(const torch::Tensor& q, const torch::Tensor& k_cache, const torch::Tensor& v_cache,
                               const torch::Tensor& key_valid, const torch::Tensor& slot, int64_t keys, double scale,
                               const DecodeAttentionScratch& scratch) {
  const compat::DeviceScope scope(q.device());
  TORCH_CHECK(v_cache.sizes() == k_cache.sizes() && v_cache.strides() == k_cache.strides() &&
                  v_cache.scalar_type() == k_cache.scalar_type() && v_cache.device() == k_cache.device() &&
                  aligned(v_cache),
              "decode_attention: the value cache must be laid out as the key cache");
  TORCH_CHECK(!slot.defined() || (slot.scalar_type() == torch::kInt64 && slot.device() == q.device()),
              "decode_attention: the slot must be an int64 tensor on ", q.device());
  const int64_t batch = q.size(0), heads = q.size(1), head_dim = q.size(3), capacity = k_cache.size(2);
  TORCH_CHECK(keys >= 1 && keys <= capacity, "decode_attention: ", keys, " keys in a cache of ", capacity);
  TORCH_CHECK(!key_valid.defined() || key_valid.size(1) >= keys, "decode_attention: key_valid covers ",
              key_valid.size(1), " of ", keys, " keys");
  const int64_t workspace = kernels::decode_attention_workspace(batch, heads, head_dim, keys);
  TORCH_CHECK(scratch.workspace.defined() && scratch.counters.defined(), "decode_attention: no scratch");
  TORCH_CHECK(scratch.workspace.numel() >= workspace && scratch.counters.numel() >= batch * heads,
              "decode_attention: scratch of ", scratch.workspace.numel(), " floats and ", scratch.counters.numel(),
              " counters, the call needs ", workspace, " and ", batch * heads);
  torch::Tensor out = torch::empty({batch, 1, heads * head_dim}, q.options());
  kernels::DecodeAttentionArgs args;
  args.q = q.data_ptr();
  args.q_strides[0] = q.stride(0);
  args.q_strides[1] = q.stride(1);
  args.k_cache = k_cache.data_ptr();
  args.v_cache = v_cache.data_ptr();
  for (int i = 0; i < 3; ++i) args.cache_strides[i] = k_cache.stride(i);
  args.batch = batch;
  args.heads = heads;
  args.kv_heads = k_cache.size(1);
  args.head_dim = head_dim;
  args.max_keys = keys;
  if (slot.defined()) args.slot = slot.data_ptr<int64_t>();
  if (key_valid.defined()) {
    args.key_valid = key_valid.data_ptr<bool>();
    args.key_valid_stride = key_valid.stride(0);
  }
  args.scale = static_cast<float>(scale);
  args.out = out.data_ptr();
  args.workspace = workspace > 0 ? scratch.workspace.data_ptr<float>() : nullptr;
  args.counters = scratch.counters.data_ptr<int>();
  kernels::decode_attention(dtype_of(q), args, stream_of(q));
  return out;
}

DecodeAttentionScratch DecodeAttentionScratch::make(int64_t batch, int64_t heads, int64_t head_dim,
                                                    int64_t capacity, torch::Device device) {
  const auto options = torch::TensorOptions().device(device);
  return {torch::empty({std::max<int64_t>(1, kernels::decode_attention_workspace(batch, heads, head_dim, capacity))},
                       options.dtype(torch::kFloat32)),
          torch::zeros({batch * heads}, options.dtype(torch::kInt32))};
}

}  // namespace lmf::torch_backend::fused
