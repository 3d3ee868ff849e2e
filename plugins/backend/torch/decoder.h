// The decoder-only transformer of the Llama and Qwen2 families (Note [Families]):
// embeddings, pre-norm blocks (RMSNorm → GQA attention with RoPE → residual, RMSNorm →
// SwiGLU MLP → residual), final RMSNorm, LM head. Functional over named weights, so that
// the same tensors are what checkpoints save and what training (LoRA, full) updates.
#pragma once

#include "kv_cache.h"
#include "model_config.h"
#include "rope.h"
#include "weights.h"

#include <torch/torch.h>

#include <vector>

namespace lmf::torch_backend {

struct Linear {
  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out] or undefined
  torch::Tensor operator()(const torch::Tensor& x) const {
    return bias.defined() ? torch::linear(x, weight, bias) : torch::linear(x, weight);
  }
};

struct DecoderLayer {
  torch::Tensor input_norm, post_attention_norm;
  Linear q_proj, k_proj, v_proj, o_proj;
  Linear gate_proj, up_proj, down_proj;
  // Note [Fused projections]: with fusion on, q/k/v are one [q;k;v] matrix and gate/up
  // one [gate;up] matrix (one matmul each instead of three and two, which matters when a
  // decode step is a few hundred small kernels). The separate Linears are then row views
  // of the fused ones, and so are the checkpoint's tensors: no memory is duplicated and
  // saving writes the same names.
  Linear qkv_proj, gate_up_proj;
};

// What a forward pass sees besides the token ids.
struct ForwardContext {
  torch::Tensor positions;  // [B,T] int64: each token's position (left padding shifts it)
  // [B,Tk] bool, true where a key position holds a real token (Tk: cache length + T);
  // undefined when no sequence has padding.
  torch::Tensor key_valid;
  KvCache* cache = nullptr;  // null: no cache, attend within this call only
  int64_t max_position = 0;  // an upper bound of positions + 1 (sizes the RoPE table)
  // Note [Static decode step] (kv_cache.h): a one-token step writing the cache at this
  // device slot; key_valid then covers the cache's whole capacity.
  torch::Tensor static_slot;
};

class Decoder {
 public:
  // `fuse_projections`: Note [Fused projections].
  Decoder(ModelConfig config, Weights& weights, torch::Device device, bool fuse_projections = false);

  const ModelConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }

  // Final hidden states [B,T,hidden] (after the last norm).
  torch::Tensor hidden_states(const torch::Tensor& input_ids, const ForwardContext& context);
  // Logits [.., vocab] for hidden states, in fp32.
  torch::Tensor logits(const torch::Tensor& hidden) const;

  // Makes the RoPE table cover positions [0, count) now (before a CUDA graph capture,
  // during which it must not grow).
  void reserve_positions(int64_t count) { rotary_.reserve(count); }

  // Allows the fused attention kernel (libtorch ≥ 2.5); off for exact eager parity.
  void set_fused_attention(bool allowed) { fused_attention_ = allowed; }
  // Allows CUDA graphs for decode steps (decode_stepper.h).
  void set_cuda_graphs(bool allowed) { cuda_graphs_ = allowed; }
  bool cuda_graphs() const { return cuda_graphs_; }

 private:
  torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
  torch::Tensor attention(int64_t layer, const torch::Tensor& x, const ForwardContext& context,
                          const RotaryTable::Angles& angles, const torch::Tensor& mask);
  torch::Tensor mlp(const DecoderLayer& layer, const torch::Tensor& x) const;

  ModelConfig config_;
  torch::Device device_;
  torch::ScalarType dtype_;
  torch::Tensor embed_tokens_, final_norm_, lm_head_;
  std::vector<DecoderLayer> layers_;
  RotaryTable rotary_;
  bool fused_attention_ = true;
  bool fused_projections_ = false;
  bool cuda_graphs_ = true;
};

}  // namespace lmf::torch_backend
