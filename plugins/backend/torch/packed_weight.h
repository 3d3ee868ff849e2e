// A linear layer's weight held in another form than a dense matrix: a quantizer's packed
// layer, multiplied by through the plugin's kernels (quantize/packed_linear.h).
#pragma once

#include <torch/torch.h>

namespace lmf::torch_backend {

// Note [Packed weights]
// A quantized checkpoint can load two ways. Dequantized (the load option packed_weights
// "off"): each module's weight is rebuilt once through its quantizer and the model computes
// with dense weights, exactly as before quantization but for the rounding. Packed ("on"):
// the module keeps the plugin's layer and every x·Wᵀ goes through it — the plugin's matmul
// while a call has few tokens (a decode step: a matrix-vector product that reads the packed
// words, 4 bits a weight instead of 16), its dequantize into a scratch matrix and a dense
// matmul for more (a prompt: the dense matmul's work dwarfs the dequantization). The
// memory a model takes is then its packed size; the scratch is one module's weight at a
// time. The decoder sees only this interface: Linear::packed. LoRA adapters train beside
// a packed base (QLoRA), whose own weights never change.
class PackedWeight {
 public:
  virtual ~PackedWeight() = default;
  virtual int64_t out_features() const = 0;
  virtual int64_t in_features() const = 0;
  // What the packed form holds, in bytes (the model's weight_bytes counts these).
  virtual size_t bytes() const = 0;
  // x [.., in] → x·Wᵀ [.., out] in x's dtype, on x's device. W is frozen: a gradient
  // flows to x only (Note [Gradient through packed weights]).
  virtual torch::Tensor matmul(const torch::Tensor& x) const = 0;
};

}  // namespace lmf::torch_backend
