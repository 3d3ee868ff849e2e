// What the awq quantizer keeps between calls for each linear layer: the calibration inputs
// `observe` handed it, and the input scales `search_input_scales` chose for it.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::quant::awq {

// Unlike GPTQ's Hessian, AWQ's searches need the inputs themselves (their mean |x| per
// channel, and the outputs x·Wᵀ of every candidate), so they are kept whole, in float32 on
// the device they came from, until the layer is quantized: for a block of a 7B model with
// AutoAWQ's 128 × 512 calibration tokens, about 1 GiB per layer reading the hidden states.
class LayerInputs {
 public:
  // Adds a copy of `inputs` [tokens, in] to `layer`'s. Throws lmf::sdk::Error naming the layer
  // for a wrong rank, an in_features that differs from earlier calls, NaN or Inf (with the
  // element); a failed call keeps what the layer had.
  void add(std::string_view layer, const torch::Tensor& inputs);

  bool has(std::string_view layer) const { return inputs_.find(layer) != inputs_.end(); }
  // All of `layer`'s inputs [tokens, in] float32, divided by its scales when it has them
  // (what the layer sees once they are folded). Throws naming the layer if it has none.
  torch::Tensor scaled(std::string_view layer) const;
  // The same without the scales.
  torch::Tensor raw(std::string_view layer) const;

  // Sets `layer`'s scales [in] (it must have inputs of that width).
  void set_scales(std::string_view layer, const torch::Tensor& scales);

  // Forgets the layer (after it was quantized: its statistics are used up).
  void erase(std::string_view layer);

 private:
  struct Entry {
    std::vector<torch::Tensor> chunks;  // [tokens_k, in] float32
    torch::Tensor scales;               // [in] float32, or undefined
  };
  const Entry& entry(std::string_view layer) const;

  std::map<std::string, Entry, std::less<>> inputs_;
};

}  // namespace lmf::quant::awq
