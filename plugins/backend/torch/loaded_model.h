// A model loaded from a Hugging Face folder: its config, weights, decoder, generation
// defaults and (when the folder has one) its tokenizer.
#pragma once

#include "decoder.h"
#include "model_config.h"
#include "sampling.h"
#include "tokenizer_client.h"
#include "weights.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>

namespace lmf::torch_backend {

struct LoadOptions {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto | float32 | bfloat16 | float16
  bool fused_attention = true;  // libtorch ≥ 2.5 only; false: transformers' eager math
  std::string tokenizer = "hf"; // tokenizer component for tokenizer.json; "" for none
  bool cuda_graphs = true;      // decode steps as CUDA graphs (CUDA builds)
  bool fused_kernels = true;    // RMSNorm/SwiGLU/RoPE as fused CUDA kernels (CUDA builds)
  bool decode_kernels = true;   // Note [Decode kernels]: batch-1 decode steps through them (CUDA builds)
  std::string fuse_projections = "auto";  // auto (on CUDA) | on | off: Note [Fused projections]
  std::string packed_weights = "auto";    // auto (on CUDA) | on | off: Note [Packed weights]
  // null, or {"quantizer": NAME, "config": {...}}: Note [Quantized on load]
  nlohmann::json quantize_on_load;

  static LoadOptions from_json(const nlohmann::json& options, const LoadOptions& defaults);
};

struct LoadedModel {
  std::string folder;
  ModelConfig config;
  Weights weights;
  std::unique_ptr<Decoder> decoder;
  SamplingParams sampling_defaults;
  nlohmann::json generation_config;            // generation_config.json, or {}
  std::unique_ptr<TokenizerClient> tokenizer;  // null when the folder has no tokenizer.json

  static std::unique_ptr<LoadedModel> load(const std::string& folder, const LoadOptions& options);

  const TokenizerClient& require_tokenizer(const std::string& why) const;
  nlohmann::json info() const;
};

// "auto": the first CUDA device when libtorch has one, else the CPU.
torch::Device resolve_device(const std::string& name);
// "auto": the checkpoint's dtype on CUDA; float32 on the CPU, where bf16/fp16 matmuls
// are slow (and fp32 keeps parity with the reference).
torch::ScalarType resolve_dtype(const std::string& name, const ModelConfig& config,
                                torch::Device device);

}  // namespace lmf::torch_backend
