#include "kv_cache.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend {

KvCache::KvCache(const ModelConfig& config, int64_t batch, int64_t capacity,
                 torch::TensorOptions options)
    : capacity_(capacity) {
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    // Zeros, not garbage: a static decode step reads every slot under a mask, and a masked
    // NaN still turns the attention's 0·v into NaN.
    keys_.push_back(torch::zeros({batch, config.num_kv_heads, capacity, config.head_dim}, options));
    values_.push_back(torch::zeros_like(keys_.back()));
  }
  // Only one-sequence steps take the decode kernels (Note [Decode kernels]).
  if (batch == 1)
    attention_scratch_ =
        fused::DecodeAttentionScratch::make(batch, config.num_heads, config.head_dim, capacity, options.device());
}

void KvCache::check_room(int64_t steps) const {
  if (length_ + steps > capacity_)
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              "KV cache full: " + std::to_string(length_ + steps) + " positions, capacity " +
                  std::to_string(capacity_));
}

std::pair<torch::Tensor, torch::Tensor> KvCache::append(int64_t layer, const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  const int64_t steps = k.size(2);
  check_room(steps);
  keys_[layer].narrow(2, length_, steps).copy_(k);
  values_[layer].narrow(2, length_, steps).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + steps), values_[layer].narrow(2, 0, length_ + steps)};
}

std::pair<torch::Tensor, torch::Tensor> KvCache::write_slot(int64_t layer, const torch::Tensor& k,
                                                            const torch::Tensor& v, const torch::Tensor& slot) {
  keys_[layer].index_copy_(2, slot, k);
  values_[layer].index_copy_(2, slot, v);
  return {keys_[layer], values_[layer]};
}

}  // namespace lmf::torch_backend
