// Keys and values of the positions already processed, per layer, so that each decode
// step attends over them without recomputing: [batch, kv_heads, capacity, head_dim].
#pragma once

#include "decode_ops.h"
#include "model_config.h"

#include <torch/torch.h>

#include <vector>

namespace lmf::torch_backend {

class KvCache {
 public:
  // Preallocates `capacity` positions for `batch` sequences (no reallocation later, so
  // the tensors' addresses stay fixed for CUDA graphs).
  KvCache(const ModelConfig& config, int64_t batch, int64_t capacity, torch::TensorOptions options);

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }

  // Writes this step's k and v [B,KV,T,D] of `layer` at [length, length + T) and returns
  // the keys and values of [0, length + T). The length moves on only with `advance`,
  // once every layer has written.
  std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& k,
                                                 const torch::Tensor& v);
  void advance(int64_t steps) { length_ += steps; }
  // Fails unless `steps` more positions fit.
  void check_room(int64_t steps) const;
  // Empties the cache for a new generation (the buffers stay where they are).
  void reset() { length_ = 0; }

  // Note [Static decode step]: a decode step that a CUDA graph can replay may not depend
  // on host values. It writes this step's k and v [B,KV,1,D] at the slot held in the
  // device tensor `slot` (int64 [1]) and returns the whole buffers; attention then masks
  // the slots not written yet. `length` is not used or changed.
  std::pair<torch::Tensor, torch::Tensor> write_slot(int64_t layer, const torch::Tensor& k,
                                                     const torch::Tensor& v, const torch::Tensor& slot);
  // The whole buffers of `layer` [B,KV,capacity,D], for kernels that write a slot
  // themselves (fused::rope_and_store).
  const torch::Tensor& keys(int64_t layer) const { return keys_[layer]; }
  const torch::Tensor& values(int64_t layer) const { return values_[layer]; }
  // The decode attention kernel's scratch for these caches (fused::decode_attention),
  // made with the caches of one sequence (undefined tensors for larger batches, which
  // never take that kernel): nothing is allocated during a step.
  const fused::DecodeAttentionScratch& attention_scratch() const { return attention_scratch_; }

 private:
  std::vector<torch::Tensor> keys_, values_;
  fused::DecodeAttentionScratch attention_scratch_;
  int64_t capacity_;
  int64_t length_ = 0;
};

}  // namespace lmf::torch_backend
