// Saving a loaded model as a Hugging Face folder that transformers loads: config.json,
// generation_config.json, tokenizer files, and safetensors weights (sharded above a size).
#pragma once

#include "loaded_model.h"

#include <nlohmann/json.hpp>

#include <string>

namespace lmf::torch_backend {

// Options: "dtype" (auto: as loaded | float32 | bfloat16 | float16), "max_shard_bytes"
// (default 5 GB, as huggingface_hub), "overwrite" (default false: refuse an existing
// folder). Note [Saving atomically]: everything is written into a temporary folder beside
// `path`, which is renamed into place at the end; a failure leaves `path` as it was.
void save_model(const LoadedModel& model, const std::string& path, const nlohmann::json& options);

}  // namespace lmf::torch_backend
