// A quantized module kept packed (Note [Packed weights], packed_weight.h): x·Wᵀ through
// its quantizer plugin's matmul and dequantize.
#pragma once

#include "packed_weight.h"
#include "quantize/quantizer_client.h"

#include <memory>

namespace lmf::torch_backend {

class PackedLinear final : public PackedWeight {
 public:
  // `matmul_tokens`: up to this many tokens a call goes through the plugin's matmul, more
  // through its dequantize and a dense matmul (the capabilities' "matmul_tokens"). On a
  // CUDA `device`, one warm-up call lets the plugin place the layer there before any CUDA
  // graph records a call.
  PackedLinear(std::shared_ptr<const QuantizerClient> quantizer, QuantizedLayer layer,
               int64_t matmul_tokens, torch::Device device, torch::ScalarType dtype);

  int64_t out_features() const override { return layer_.raw().out_features; }
  int64_t in_features() const override { return layer_.raw().in_features; }
  size_t bytes() const override { return bytes_; }
  torch::Tensor matmul(const torch::Tensor& x) const override;

  // The dequantized weight [out, in] in a new tensor of `options` (device, dtype).
  torch::Tensor dense(const torch::TensorOptions& options) const;
  // rows [tokens, in] contiguous → [tokens, out], without autograd.
  torch::Tensor multiply_rows(const torch::Tensor& rows) const;

 private:
  std::shared_ptr<const QuantizerClient> quantizer_;  // outlives layer_, which it releases
  QuantizedLayer layer_;
  int64_t matmul_tokens_;
  size_t bytes_ = 0;
};

}  // namespace lmf::torch_backend
