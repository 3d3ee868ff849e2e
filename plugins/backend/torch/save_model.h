// Saving a loaded model as a Hugging Face folder that transformers loads: config.json,
// generation_config.json, tokenizer files, and safetensors weights (sharded above a size).
#pragma once

#include "loaded_model.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lmf::torch_backend {

// Options: "dtype" (auto: as loaded | float32 | bfloat16 | float16), "max_shard_bytes"
// (default 5 GB, as huggingface_hub), "overwrite" (default false: refuse an existing
// folder). Note [Saving atomically]: everything is written into a temporary folder beside
// `path`, which is renamed into place at the end; a failure leaves `path` as it was.
void save_model(const LoadedModel& model, const std::string& path, const nlohmann::json& options);

// What a quantized model's folder holds instead of some weights: the tensors dropped
// (the quantized modules' "weight"), the packed ones added, and fields merged into
// config.json (quantization_config).
struct SaveOverrides {
  std::set<std::string> drop;
  std::vector<std::pair<std::string, torch::Tensor>> add;
  nlohmann::json config_patch = nlohmann::json::object();
};
void save_model(const LoadedModel& model, const std::string& path, const nlohmann::json& options,
                const SaveOverrides& overrides);

}  // namespace lmf::torch_backend
