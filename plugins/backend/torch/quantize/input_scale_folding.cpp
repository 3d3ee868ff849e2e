#include "quantize/input_scale_folding.h"

namespace lmf::torch_backend {
namespace {

// Replaces `tensor`'s values in place (every holder of it, the saved weights included,
// sees them), computed in float32 and stored in its dtype.
void assign(torch::Tensor& tensor, const torch::Tensor& value) {
  tensor.copy_(value.to(tensor.scalar_type()));
}

}  // namespace

std::vector<FoldGroup> fold_groups(DecoderLayer& layer, int64_t index) {
  const std::string prefix = "model.layers." + std::to_string(index) + ".";
  std::vector<FoldGroup> groups;
  groups.push_back({prefix + "input_layernorm",
                    layer.input_norm,
                    nullptr,
                    {{prefix + "self_attn.q_proj", &layer.q_proj},
                     {prefix + "self_attn.k_proj", &layer.k_proj},
                     {prefix + "self_attn.v_proj", &layer.v_proj}}});
  if (layer.v_proj.weight.size(0) == layer.o_proj.weight.size(1))
    groups.push_back({prefix + "self_attn.v_proj",
                      torch::Tensor(),
                      &layer.v_proj,
                      {{prefix + "self_attn.o_proj", &layer.o_proj}}});
  groups.push_back(
      {prefix + "post_attention_layernorm",
       layer.post_attention_norm,
       nullptr,
       {{prefix + "mlp.gate_proj", &layer.gate_proj}, {prefix + "mlp.up_proj", &layer.up_proj}}});
  groups.push_back({prefix + "mlp.up_proj",
                    torch::Tensor(),
                    &layer.up_proj,
                    {{prefix + "mlp.down_proj", &layer.down_proj}}});
  return groups;
}

void fold_input_scales(const FoldGroup& group, const torch::Tensor& scales) {
  torch::NoGradGuard no_grad;
  if (group.norm.defined()) {
    torch::Tensor norm = group.norm;
    const torch::Tensor s = scales.to(norm.device(), torch::kFloat32);
    assign(norm, norm.to(torch::kFloat32) / s);
  } else {
    Linear& producer = *group.producer_linear;
    const torch::Tensor s = scales.to(producer.weight.device(), torch::kFloat32);
    assign(producer.weight, producer.weight.to(torch::kFloat32) / s.unsqueeze(1));
    if (producer.bias.defined()) assign(producer.bias, producer.bias.to(torch::kFloat32) / s);
  }
  for (const NamedLinear& consumer : group.consumers) {
    torch::Tensor& weight = consumer.linear->weight;
    assign(weight,
           weight.to(torch::kFloat32) * scales.to(weight.device(), torch::kFloat32).unsqueeze(0));
  }
}

}  // namespace lmf::torch_backend
