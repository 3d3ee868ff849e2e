// A ModelSpec from a Hugging Face config.json: Llama, Mistral, Qwen2, Qwen3, DeepSeek (V1
// MoE), DeepSeek-V2/V3 (MLA + MoE), Mixtral, Qwen2-MoE and Qwen3-MoE, as transformers
// builds them (the defaults are those of each model_type's config class).
#pragma once

#include "core/planner/model_spec.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace lmf::planner {

// The model_type values the reader knows.
const std::vector<std::string>& supported_model_types();

// Reads `path`, a config.json or a folder holding one. Throws config::ConfigError naming
// the file and the JSON pointer of what is wrong.
ModelSpec read_hf_config(const std::filesystem::path& path);

// The same from a parsed document; `file` is what messages name, `name` the model's name
// when the config has no "_name_or_path".
ModelSpec parse_hf_config(const nlohmann::json& config, const std::string& file,
                          const std::string& name);

}  // namespace lmf::planner
