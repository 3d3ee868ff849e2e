#include "quantize/block_stage.h"

#include <lmf/sdk/error.h>

#include <string>
#include <vector>

namespace lmf::torch_backend {
namespace {

// Copies each tensor of block `from` into the same tensor of block `to`, in place (the
// model's tensors are what its Weights and checkpoint saving hold).
void copy_block(DecoderLayer& to, const DecoderLayer& from) {
  to.input_norm.copy_(from.input_norm);
  to.post_attention_norm.copy_(from.post_attention_norm);
  for (auto part : {&DecoderLayer::q_proj, &DecoderLayer::k_proj, &DecoderLayer::v_proj, &DecoderLayer::o_proj,
                    &DecoderLayer::gate_proj, &DecoderLayer::up_proj, &DecoderLayer::down_proj}) {
    (to.*part).weight.copy_((from.*part).weight);
    if ((from.*part).bias.defined()) (to.*part).bias.copy_((from.*part).bias);
  }
}

}  // namespace

BlockStage::BlockStage(const ModelConfig& config, Weights& model_weights, torch::Device device) {
  if (model_weights.has_packed())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "quantize: the model computes with packed weights; load it with "
                                        "packed_weights off to stage its blocks on " + device.str());
  ModelConfig one_block = config;
  one_block.num_layers = 1;
  one_block.tie_word_embeddings = true;  // no LM head to stage
  const std::string first = "model.layers.0.";
  torch::ScalarType dtype = torch::kFloat32;
  for (const std::string& name : model_weights.names())
    if (name.rfind(first, 0) == 0) {
      const torch::Tensor& tensor = model_weights.at(name);
      if (tensor.is_floating_point()) dtype = tensor.scalar_type();
      weights_.add(name, torch::empty_like(tensor, tensor.options().device(device)));
    }
  const torch::TensorOptions placeholder = torch::TensorOptions().device(device).dtype(dtype);
  weights_.add("model.embed_tokens.weight",
               torch::zeros({1, 1}, placeholder).expand({config.vocab_size, config.hidden_size}));
  weights_.add("model.norm.weight", torch::zeros({1}, placeholder).expand({config.hidden_size}));
  runner_ = std::make_unique<Decoder>(one_block, weights_, device, /*fuse_projections=*/false);
}

BlockStage::~BlockStage() = default;

DecoderLayer& BlockStage::load(const DecoderLayer& model) {
  DecoderLayer& staged = runner_->layer(0);
  copy_block(staged, model);
  return staged;
}

torch::Tensor BlockStage::run(const torch::Tensor& h, const torch::Tensor& positions) {
  return runner_->block(0, h, positions);
}

void BlockStage::store(DecoderLayer& model) {
  copy_block(model, runner_->layer(0));
}

}  // namespace lmf::torch_backend
