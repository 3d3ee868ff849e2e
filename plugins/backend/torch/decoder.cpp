#include "decoder.h"

#include "decode_stepper.h"
#include "fused_ops.h"
#include "torch_compat.h"
#include "training/activation_checkpoint.h"

#include <lmf/sdk/error.h>

#include <cmath>

namespace lmf::torch_backend {
namespace {

std::string shape_text(at::IntArrayRef shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// Takes a weight from the checkpoint, checking the shape config.json implies.
class WeightTaker {
 public:
  explicit WeightTaker(Weights& weights) : weights_(weights) {}

  torch::Tensor take(const std::string& name, std::vector<int64_t> shape) {
    const torch::Tensor& tensor = weights_.at(name);
    if (tensor.sizes() != at::IntArrayRef(shape))
      sdk::fail(LMF_ERR_DATA, weights_.folder() + ": tensor " + name + " has shape " +
                                  shape_text(tensor.sizes()) + " but config.json implies " +
                                  shape_text(shape));
    weights_.mark_used(name);
    return tensor;
  }
  Linear linear(const std::string& prefix, int64_t out, int64_t in, bool bias) {
    Linear layer;
    if (auto packed = weights_.packed(prefix)) {  // Note [Packed weights]
      if (packed->out_features() != out || packed->in_features() != in)
        sdk::fail(LMF_ERR_DATA, weights_.folder() + ": quantized module " + prefix + " is [" +
                                    std::to_string(packed->out_features()) + ", " +
                                    std::to_string(packed->in_features()) + "] but config.json implies " +
                                    shape_text({out, in}));
      layer.packed = std::move(packed);
    } else {
      layer.weight = take(prefix + ".weight", {out, in});
    }
    if (bias) layer.bias = take(prefix + ".bias", {out});
    return layer;
  }

 private:
  Weights& weights_;
};

// Concatenates Linears along their outputs; each part becomes a row view of the result,
// also in the checkpoint's tensors (`names`: the parts' prefixes, e.g. "...q_proj").
Linear fuse(std::vector<Linear*> parts, const std::vector<std::string>& names, Weights& weights) {
  std::vector<torch::Tensor> matrices, biases;
  for (Linear* part : parts) {
    matrices.push_back(part->weight);
    if (part->bias.defined()) biases.push_back(part->bias);
  }
  Linear fused{torch::cat(matrices, 0), {}};
  if (!biases.empty()) fused.bias = torch::cat(biases, 0);
  int64_t row = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const int64_t rows = parts[i]->weight.size(0);
    parts[i]->weight = fused.weight.narrow(0, row, rows);
    weights.replace(names[i] + ".weight", parts[i]->weight);
    if (parts[i]->bias.defined()) {
      parts[i]->bias = fused.bias.narrow(0, row, rows);
      weights.replace(names[i] + ".bias", parts[i]->bias);
    }
    row += rows;
  }
  return fused;
}

// Note [Shared adapter input]
// PEFT casts a projection's input to its adapter's dtype (fp32) in every adapted module,
// and autograd keeps each cast for the backward pass: q, k and v would keep three fp32
// copies of one input, gate and up two. The projections that share an input share one
// cast instead — the same values, a third (a half) of the memory. The base matmuls keep
// the uncast input.
torch::Tensor adapter_input(const torch::Tensor& x, std::initializer_list<const Linear*> linears) {
  for (const Linear* linear : linears) {
    if (!linear->adapter) continue;
    const torch::ScalarType dtype = linear->adapter->input_dtype(x);
    return dtype == x.scalar_type() ? x : x.to(dtype);
  }
  return x;
}

}  // namespace

Decoder::Decoder(ModelConfig config, Weights& weights, torch::Device device, bool fuse_projections)
    : config_(std::move(config)), device_(device), rotary_(config_, device),
      fused_projections_(fuse_projections) {
  const ModelConfig& c = config_;
  WeightTaker w(weights);
  embed_tokens_ = w.take("model.embed_tokens.weight", {c.vocab_size, c.hidden_size});
  dtype_ = embed_tokens_.scalar_type();
  final_norm_ = w.take("model.norm.weight", {c.hidden_size});
  if (weights.contains("lm_head.weight") || !c.tie_word_embeddings)
    lm_head_ = w.take("lm_head.weight", {c.vocab_size, c.hidden_size});
  else
    lm_head_ = embed_tokens_;
  const int64_t q_size = c.num_heads * c.head_dim;
  const int64_t kv_size = c.num_kv_heads * c.head_dim;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    DecoderLayer layer;
    layer.input_norm = w.take(p + ".input_layernorm.weight", {c.hidden_size});
    layer.post_attention_norm = w.take(p + ".post_attention_layernorm.weight", {c.hidden_size});
    layer.q_proj = w.linear(p + ".self_attn.q_proj", q_size, c.hidden_size, c.attention_bias);
    layer.k_proj = w.linear(p + ".self_attn.k_proj", kv_size, c.hidden_size, c.attention_bias);
    layer.v_proj = w.linear(p + ".self_attn.v_proj", kv_size, c.hidden_size, c.attention_bias);
    layer.o_proj = w.linear(p + ".self_attn.o_proj", c.hidden_size, q_size,
                            c.attention_bias && !c.qkv_bias_only);
    layer.gate_proj = w.linear(p + ".mlp.gate_proj", c.intermediate_size, c.hidden_size, c.mlp_bias);
    layer.up_proj = w.linear(p + ".mlp.up_proj", c.intermediate_size, c.hidden_size, c.mlp_bias);
    layer.down_proj = w.linear(p + ".mlp.down_proj", c.hidden_size, c.intermediate_size, c.mlp_bias);
    // All-or-none biases can fuse (always so in Llama and Qwen2); packed weights do not.
    const bool dense = !layer.q_proj.packed && !layer.k_proj.packed && !layer.v_proj.packed &&
                       !layer.gate_proj.packed && !layer.up_proj.packed;
    if (fuse_projections && dense && layer.q_proj.bias.defined() == layer.k_proj.bias.defined() &&
        layer.k_proj.bias.defined() == layer.v_proj.bias.defined()) {
      layer.qkv_proj = fuse({&layer.q_proj, &layer.k_proj, &layer.v_proj},
                            {p + ".self_attn.q_proj", p + ".self_attn.k_proj", p + ".self_attn.v_proj"}, weights);
      layer.gate_up_proj = fuse({&layer.gate_proj, &layer.up_proj}, {p + ".mlp.gate_proj", p + ".mlp.up_proj"}, weights);
    }
    layers_.push_back(std::move(layer));
  }
}

Decoder::~Decoder() = default;

DecodeStepperPool& Decoder::decode_steppers() {
  if (!decode_steppers_) decode_steppers_ = std::make_unique<DecodeStepperPool>();
  return *decode_steppers_;
}

void Decoder::release_decode_steppers() {
  decode_steppers_.reset();
}

void Decoder::for_each_linear(const std::function<void(const std::string&, Linear&)>& visit) {
  ++graph_epoch_;  // the visitor may change the projections
  for (size_t i = 0; i < layers_.size(); ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    DecoderLayer& layer = layers_[i];
    visit(p + ".self_attn.q_proj", layer.q_proj);
    visit(p + ".self_attn.k_proj", layer.k_proj);
    visit(p + ".self_attn.v_proj", layer.v_proj);
    visit(p + ".self_attn.o_proj", layer.o_proj);
    visit(p + ".mlp.gate_proj", layer.gate_proj);
    visit(p + ".mlp.up_proj", layer.up_proj);
    visit(p + ".mlp.down_proj", layer.down_proj);
  }
}

// As transformers' RMSNorm: normalise in fp32, cast back, then scale.
torch::Tensor Decoder::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
  if (fused_kernels_ && fused::rms_norm_applies(x, weight)) return fused::rms_norm(x, weight, config_.rms_norm_eps);
  torch::Tensor x32 = x.to(torch::kFloat32);
  torch::Tensor variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x32 * torch::rsqrt(variance + config_.rms_norm_eps)).to(x.scalar_type());
}

torch::Tensor Decoder::swiglu(const torch::Tensor& gate, const torch::Tensor& up) const {
  if (fused_kernels_ && fused::swiglu_applies(gate, up)) return fused::swiglu(gate, up);
  return torch::silu(gate) * up;
}

torch::Tensor Decoder::mlp(const DecoderLayer& layer, const torch::Tensor& x) const {
  const torch::Tensor adapter_x = adapter_input(x, {&layer.gate_proj, &layer.up_proj});
  if (layer.gate_up_proj.weight.defined()) {
    torch::Tensor gate_up = layer.gate_up_proj(x);
    if (fused_kernels_ && !layer.gate_proj.adapter && !layer.up_proj.adapter && fused::swiglu_packed_applies(gate_up))
      return layer.down_proj(fused::swiglu_packed(gate_up));
    const int64_t size = config_.intermediate_size;
    torch::Tensor gate = layer.gate_proj.adapted(adapter_x, gate_up.narrow(-1, 0, size));
    torch::Tensor up = layer.up_proj.adapted(adapter_x, gate_up.narrow(-1, size, size));
    return layer.down_proj(swiglu(gate, up));
  }
  return layer.down_proj(swiglu(layer.gate_proj.adapted(adapter_x, layer.gate_proj.base(x)),
                                layer.up_proj.adapted(adapter_x, layer.up_proj.base(x))));
}

torch::Tensor Decoder::attention(int64_t index, const torch::Tensor& x, const ForwardContext& context,
                                 const RotaryTable::Angles& angles, const torch::Tensor& mask) {
  const DecoderLayer& layer = layers_[index];
  const int64_t batch = x.size(0), steps = x.size(1), d = config_.head_dim;
  auto heads = [&](const torch::Tensor& t, int64_t count) {
    return t.view({batch, steps, count, d}).transpose(1, 2);
  };
  const torch::Tensor adapter_x = adapter_input(x, {&layer.q_proj, &layer.k_proj, &layer.v_proj});
  torch::Tensor q, k, v;
  if (layer.qkv_proj.weight.defined()) {
    torch::Tensor qkv = layer.qkv_proj(x);
    const int64_t q_size = config_.num_heads * d, kv_size = config_.num_kv_heads * d;
    q = heads(layer.q_proj.adapted(adapter_x, qkv.narrow(-1, 0, q_size)), config_.num_heads);
    k = heads(layer.k_proj.adapted(adapter_x, qkv.narrow(-1, q_size, kv_size)), config_.num_kv_heads);
    v = heads(layer.v_proj.adapted(adapter_x, qkv.narrow(-1, q_size + kv_size, kv_size)), config_.num_kv_heads);
  } else {
    q = heads(layer.q_proj.adapted(adapter_x, layer.q_proj.base(x)), config_.num_heads);
    k = heads(layer.k_proj.adapted(adapter_x, layer.k_proj.base(x)), config_.num_kv_heads);
    v = heads(layer.v_proj.adapted(adapter_x, layer.v_proj.base(x)), config_.num_kv_heads);
  }
  if (context.static_slot.defined() && fused_kernels_ &&
      fused::rope_and_store_applies(q, k, v, angles.cos, angles.sin, context.cache->keys(index))) {
    q = fused::rope_and_store(q, k, v, angles.cos, angles.sin, context.cache->keys(index),
                              context.cache->values(index), context.static_slot);
    k = context.cache->keys(index);
    v = context.cache->values(index);
  } else {
    std::tie(q, k) = RotaryTable::rotate(q, k, angles, fused_kernels_);
    if (context.static_slot.defined())
      std::tie(k, v) = context.cache->write_slot(index, k, v, context.static_slot);
    else if (context.cache != nullptr)
      std::tie(k, v) = context.cache->append(index, k, v);
  }
  // Several queries and no mask: plainly causal (hidden_states leaves the mask out then).
  torch::Tensor out = compat::attention(q, k, v, mask, 1.0 / std::sqrt(static_cast<double>(d)),
                                        fused_attention_, /*causal=*/!mask.defined() && steps > 1);
  return layer.o_proj(out.transpose(1, 2).reshape({batch, steps, config_.num_heads * d}));
}

torch::Tensor Decoder::hidden_states(const torch::Tensor& input_ids, const ForwardContext& context) {
  const int64_t steps = input_ids.size(1);
  const int64_t past = context.cache != nullptr ? context.cache->length() : 0;
  rotary_.reserve(std::max(context.max_position, past + steps));

  torch::Tensor h = embed_tokens_.index({input_ids});
  const RotaryTable::Angles angles = rotary_.angles(context.positions, h.scalar_type());
  if (decode_kernels_apply(h, context)) {  // Note [Decode kernels]
    h = decode_kernel_layers(h, context, angles);
    if (!context.static_slot.defined()) context.cache->advance(steps);
    return rms_norm(h, final_norm_);
  }

  // Causal mask over [past + T] keys, combined with the keys' padding. A one-token step
  // without padding needs none, nor does a plainly causal pass (no cache, no padding:
  // training, a prompt alone), which attention() computes with the flash kernel's own
  // causal masking. Padding queries see themselves, so that no softmax row is empty
  // (their outputs are never read).
  const bool plainly_causal = steps > 1 && past == 0 && !context.key_valid.defined() && !context.static_slot.defined();
  torch::Tensor mask;
  if (context.static_slot.defined()) {
    mask = context.key_valid.view({context.key_valid.size(0), 1, 1, context.key_valid.size(1)});
  } else if (!plainly_causal && (steps > 1 || context.key_valid.defined())) {
    torch::Tensor query_at = torch::arange(past, past + steps, torch::TensorOptions().dtype(torch::kInt64).device(device_));
    torch::Tensor key_at = torch::arange(past + steps, torch::TensorOptions().dtype(torch::kInt64).device(device_));
    mask = (key_at.unsqueeze(0) <= query_at.unsqueeze(1)).view({1, 1, steps, past + steps});
    if (context.key_valid.defined()) {
      torch::Tensor diagonal = key_at.unsqueeze(0) == query_at.unsqueeze(1);
      mask = (mask & context.key_valid.view({-1, 1, 1, past + steps})) | diagonal.view({1, 1, steps, past + steps});
    }
  }

  mask = compat::fused_attention_mask(mask, dtype_, fused_attention_);

  // Note [Checkpointed blocks] (training/activation_checkpoint.h). Never with a cache,
  // which the recomputation would append to a second time.
  const bool checkpoint = activation_checkpointing_ && torch::GradMode::is_enabled() && context.cache == nullptr;
  for (int64_t i = 0; i < static_cast<int64_t>(layers_.size()); ++i) {
    const DecoderLayer& layer = layers_[i];
    if (checkpoint) {
      // The blocks run again in the backward pass, after this call has returned: they
      // hold copies of what they use.
      h = h + checkpointed([this, i, context, angles, mask](const torch::Tensor& x) {
        return attention(i, rms_norm(x, layers_[i].input_norm), context, angles, mask);
      }, h);
      h = h + checkpointed([this, i](const torch::Tensor& x) {
        return mlp(layers_[i], rms_norm(x, layers_[i].post_attention_norm));
      }, h);
      continue;
    }
    h = h + attention(i, rms_norm(h, layer.input_norm), context, angles, mask);
    h = h + mlp(layer, rms_norm(h, layer.post_attention_norm));
  }
  if (context.cache != nullptr && !context.static_slot.defined()) context.cache->advance(steps);
  return rms_norm(h, final_norm_);
}

torch::Tensor Decoder::block(int64_t layer, const torch::Tensor& h, const torch::Tensor& positions) {
  const int64_t steps = h.size(1);
  rotary_.reserve(steps);
  const RotaryTable::Angles angles = rotary_.angles(positions, h.scalar_type());
  const ForwardContext context{positions, {}, nullptr, steps};
  const DecoderLayer& weights = layers_.at(static_cast<size_t>(layer));
  torch::Tensor out = h + attention(layer, rms_norm(h, weights.input_norm), context, angles, torch::Tensor());
  return out + mlp(weights, rms_norm(out, weights.post_attention_norm));
}

torch::Tensor Decoder::logits(const torch::Tensor& hidden) const {
  return torch::linear(hidden, lm_head_).to(torch::kFloat32);
}

}  // namespace lmf::torch_backend
