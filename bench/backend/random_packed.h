// int4 decode for the decode bench (LMF_BENCH_INT4=PLUGIN): every projection of a random
// model replaced by a random 4-bit, group-128 GPTQ-layout layer, imported through a
// quantizer plugin loaded from its .so (rtn or gptq) and kept packed (Note [Packed
// weights]), so that the bench measures the plugin's kernels inside the decoder. The
// codes are random: the outputs mean nothing, the bytes read are a real model's.
#pragma once

#include "model_config.h"
#include "weights.h"

#include <torch/torch.h>

#include <memory>
#include <string>

namespace lmf::bench {

// Keeps the plugin loaded and the host API answering while it lives.
class QuantizerHost {
 public:
  explicit QuantizerHost(const std::string& plugin_file);
  ~QuantizerHost();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Replaces "<module>.weight" of every projection in `weights` by a packed random layer
// of `component` on `device`, for activations of `dtype`.
void pack_random_int4(torch_backend::Weights& weights, const torch_backend::ModelConfig& config,
                      const std::string& component, torch::Device device, torch::ScalarType dtype);

// Bytes of the packed projections in `weights` (held by the quantizer plugin, outside
// libtorch's allocator and its peak statistics).
size_t packed_bytes(const torch_backend::Weights& weights, const torch_backend::ModelConfig& config);

// Starts the CUDA allocator's peak statistics afresh (nothing on the CPU).
void reset_peak_memory(torch::Device device);

}  // namespace lmf::bench
