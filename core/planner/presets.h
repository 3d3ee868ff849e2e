// Built-in models: the base models the seeds name, as their Hugging Face config.json
// (read through hf_config_reader, like a user's file).
#pragma once

#include "core/planner/model_spec.h"

#include <string>
#include <vector>

namespace lmf::planner {

struct Preset {
  std::string name;                  // "deepseek-r1-distill-qwen-7b"
  std::string repository;            // "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
  std::vector<std::string> aliases;  // other names the seeds use
  std::string description;
  const char* config_json;  // the model's config.json (architecture fields)
};

const std::vector<Preset>& presets();

// The preset called `name` (its name, an alias or its repository, any case; an
// "org/" prefix is ignored). Throws PlanError listing the presets and the closest name.
ModelSpec load_preset(const std::string& name);

// Whether `name` names a preset.
bool is_preset(const std::string& name);

}  // namespace lmf::planner
