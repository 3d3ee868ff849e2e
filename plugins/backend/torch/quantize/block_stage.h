// One decoder block at a time on a calibration device, the rest of the model where it was
// loaded (Note [One block on the device]).
#pragma once

#include "decoder.h"
#include "model_config.h"
#include "weights.h"

#include <torch/torch.h>

#include <memory>

namespace lmf::torch_backend {

// Note [One block on the device]
// GPTQ's claim is that a 70B model quantizes on one 80 GB GPU with the rest in host RAM:
// calibration needs only the block being quantized and the samples' hidden states on the
// GPU. With `calibration.device` naming a device other than the model's (the model loaded
// on the CPU, in bf16), the driver stages each block there in turn: a one-block Decoder on
// the device (its embeddings and final norm zero-stride placeholders, never read) whose
// block's tensors take a copy of block i's, calibrate and quantize there, and are copied
// back — the quantized model stays whole in host memory, as it would on the device. The
// device then holds one block's weights, the hidden states and the quantizer's working set.
// The one-block decoder computes with the backend's defaults (fused attention and kernels
// where the device has them), whatever the model was loaded with.
class BlockStage {
 public:
  // Throws lmf::sdk::Error for a model with packed weights (the driver quantizes dense ones).
  BlockStage(const ModelConfig& config, Weights& model_weights, torch::Device device);
  ~BlockStage();

  // Copies the model's block `model` into the staged block and returns the staged block.
  DecoderLayer& load(const DecoderLayer& model);
  // The staged block's forward pass, as Decoder::block.
  torch::Tensor run(const torch::Tensor& h, const torch::Tensor& positions);
  // The staged block's tensors (quantized weights, folded scales) into the model's block.
  void store(DecoderLayer& model);

 private:
  Weights weights_;
  std::unique_ptr<Decoder> runner_;
};

}  // namespace lmf::torch_backend
