// The decoder-only transformer of the Llama and Qwen2 families (Note [Families]):
// embeddings, pre-norm blocks (RMSNorm → GQA attention with RoPE → residual, RMSNorm →
// SwiGLU MLP → residual), final RMSNorm, LM head. Functional over named weights, so that
// the same tensors are what checkpoints save and what training (LoRA, full) updates.
#pragma once

#include "kv_cache.h"
#include "model_config.h"
#include "packed_weight.h"
#include "rope.h"
#include "weights.h"

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lmf::torch_backend {

// A trainable term added to a Linear's output, such as LoRA's low-rank update
// (training/lora.h). The decoder only calls it; whoever attaches it owns its tensors.
class LinearAdapter {
 public:
  virtual ~LinearAdapter() = default;
  // The term for input x [.., in]: [.., out], in x's dtype or a wider one.
  virtual torch::Tensor operator()(const torch::Tensor& x) const = 0;
  // The dtype the adapter casts its input to (Note [Shared adapter input]).
  virtual torch::ScalarType input_dtype(const torch::Tensor& x) const { return x.scalar_type(); }
};

struct Linear {
  torch::Tensor weight;  // [out, in]; undefined when `packed` holds the weight
  torch::Tensor bias;    // [out] or undefined
  std::shared_ptr<const LinearAdapter> adapter;  // null: none
  std::shared_ptr<const PackedWeight> packed;    // Note [Packed weights]; null: `weight`

  int64_t out_features() const { return packed ? packed->out_features() : weight.size(0); }
  int64_t in_features() const { return packed ? packed->in_features() : weight.size(1); }

  torch::Tensor operator()(const torch::Tensor& x) const { return adapted(x, base(x)); }
  // x·Wᵀ + b, without the adapter.
  torch::Tensor base(const torch::Tensor& x) const {
    if (packed) return bias.defined() ? packed->matmul(x) + bias : packed->matmul(x);
    return bias.defined() ? torch::linear(x, weight, bias) : torch::linear(x, weight);
  }
  // `out` (this Linear's base output for x, possibly a slice of a fused projection's:
  // Note [Fused projections]) plus the adapter's term, summed in the wider dtype and
  // returned in out's, as PEFT does.
  torch::Tensor adapted(const torch::Tensor& x, const torch::Tensor& out) const {
    return adapter ? (out + (*adapter)(x)).to(out.scalar_type()) : out;
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
  // saving writes the same names. A part's adapter (LoRA) is added to the part's slice of
  // the fused output, and merging into a part's weight updates the fused matrix in place.
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

class DecodeStepperPool;

class Decoder {
 public:
  // `fuse_projections`: Note [Fused projections].
  Decoder(ModelConfig config, Weights& weights, torch::Device device, bool fuse_projections = false);
  ~Decoder();

  const ModelConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType dtype() const { return dtype_; }

  // Calls `visit` with each block's projections, named as the checkpoint names their
  // modules ("model.layers.3.self_attn.q_proj"), layer by layer in q, k, v, o, gate, up,
  // down order. With fused projections these are the parts (row views of the fused
  // matrices): an adapter attached to a part applies in the fused path too.
  void for_each_linear(const std::function<void(const std::string& name, Linear& linear)>& visit);

  // Layer by layer, as quantization calibrates (no cache, no padding: plainly causal):
  // the embeddings of `input_ids`, then one block at a time. hidden_states is these with
  // the final norm.
  torch::Tensor embed(const torch::Tensor& input_ids) const { return embed_tokens_.index({input_ids}); }
  torch::Tensor block(int64_t layer, const torch::Tensor& h, const torch::Tensor& positions);
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  DecoderLayer& layer(int64_t index) {
    ++graph_epoch_;  // the caller may change the projections
    return layers_.at(static_cast<size_t>(index));
  }

  // Note [Reused decode graphs] (decode_stepper.h): moves on whenever something a captured
  // decode step depends on, besides the weights' values, may have changed — the
  // projections (adapters attached, detached or merged: call projections_changed()), the
  // kernels chosen, the RoPE table's storage.
  int64_t graph_epoch() const { return graph_epoch_ + rotary_.reallocations(); }
  void projections_changed() {
    ++graph_epoch_;
    release_decode_steppers();  // their graphs are stale; their caches would only hold memory
  }
  // The decode steppers kept for the next generations (created on first use), and
  // letting them go (their KV caches and graph pools) before other work needs the memory.
  DecodeStepperPool& decode_steppers();
  void release_decode_steppers();

  // Final hidden states [B,T,hidden] (after the last norm).
  torch::Tensor hidden_states(const torch::Tensor& input_ids, const ForwardContext& context);
  // Logits [.., vocab] for hidden states, in fp32.
  torch::Tensor logits(const torch::Tensor& hidden) const;
  // The LM head's weight [vocab, hidden] (the embeddings when tied): the training loss
  // multiplies by it a chunk at a time instead of calling logits().
  const torch::Tensor& lm_head_weight() const { return lm_head_; }

  // Makes the RoPE table cover positions [0, count) now (before a CUDA graph capture,
  // during which it must not grow).
  void reserve_positions(int64_t count) { rotary_.reserve(count); }

  // Allows the fused attention kernel (libtorch ≥ 2.5); off for exact eager parity.
  void set_fused_attention(bool allowed) {
    fused_attention_ = allowed;
    ++graph_epoch_;
  }
  // Note [Fused kernels]: RMSNorm, SwiGLU and RoPE as single CUDA kernels (CUDA only).
  void set_fused_kernels(bool allowed) {
    fused_kernels_ = allowed;
    ++graph_epoch_;
  }
  // Note [Decode kernels]: one-sequence decode steps through them (with fused kernels on).
  void set_decode_kernels(bool allowed) {
    decode_kernels_ = allowed;
    ++graph_epoch_;
  }
  // How many forward passes went through the decode kernels (a replayed graph counts
  // once, when captured): what tests check the path was taken by.
  int64_t decode_kernel_passes() const { return decode_kernel_passes_; }
  // Allows CUDA graphs for decode steps (decode_stepper.h).
  void set_cuda_graphs(bool allowed) { cuda_graphs_ = allowed; }
  bool cuda_graphs() const { return cuda_graphs_; }
  // Recomputes each block's activations in the backward pass instead of keeping them
  // (training/activation_checkpoint.h), in hidden_states with grad mode on and no cache.
  void set_activation_checkpointing(bool on) { activation_checkpointing_ = on; }

 private:
  torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
  torch::Tensor attention(int64_t layer, const torch::Tensor& x, const ForwardContext& context,
                          const RotaryTable::Angles& angles, const torch::Tensor& mask);
  torch::Tensor mlp(const DecoderLayer& layer, const torch::Tensor& x) const;
  torch::Tensor swiglu(const torch::Tensor& gate, const torch::Tensor& up) const;
  // Note [Decode kernels] (decoder_decode_step.cpp): whether a step with embeddings `h`
  // runs through the decode kernels — one token of one sequence, no grad, a cache, and
  // every layer's weights in the kernels' layout without adapters — and that step.
  bool decode_kernels_apply(const torch::Tensor& h, const ForwardContext& context);
  torch::Tensor decode_kernel_layers(torch::Tensor h, const ForwardContext& context,
                                     const RotaryTable::Angles& angles);

  ModelConfig config_;
  torch::Device device_;
  torch::ScalarType dtype_;
  torch::Tensor embed_tokens_, final_norm_, lm_head_;
  std::vector<DecoderLayer> layers_;
  RotaryTable rotary_;
  bool fused_attention_ = true;
  bool fused_kernels_ = true;
  bool decode_kernels_ = true;
  bool fused_projections_ = false;
  bool cuda_graphs_ = true;
  bool activation_checkpointing_ = false;
  int64_t graph_epoch_ = 0;
  int64_t decode_kernels_epoch_ = -1;  // the graph epoch decode_kernels_take_layers_ was decided at
  bool decode_kernels_take_layers_ = false;
  int64_t decode_kernel_passes_ = 0;
  std::unique_ptr<DecodeStepperPool> decode_steppers_;
};

}  // namespace lmf::torch_backend
