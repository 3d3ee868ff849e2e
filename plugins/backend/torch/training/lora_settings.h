// What LoRA adapts and how: the `lora` object of a training config, and what a PEFT
// adapter_config.json says of the same (peft_folder.h).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::torch_backend {

// The projections of every decoder block: what "all-linear" names (PEFT: every Linear but
// the output layer).
inline const std::vector<std::string> kLoraAllLinear = {
    "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

struct LoraSettings {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0.0;  // on the adapter's input, while training only
  // Note [LoRA target modules].
  std::vector<std::string> target_modules = kLoraAllLinear;
  // When set, PEFT's string form: a module is a target when this regular expression
  // matches its whole name, and target_modules is unused.
  std::string target_regex;
  bool use_rslora = false;  // scaling alpha/√rank instead of alpha/rank
  // Note [LoRA in the activations' dtype] (lora.cpp): "input" computes the adapter's term
  // in its input's dtype (A and B cast to it); "adapter" casts the input to the adapters'
  // dtype as PEFT does. The same where both are fp32.
  std::string compute = "input";

  // The factor of the adapter's term: alpha/rank, or alpha/√rank with rsLoRA (PEFT's).
  double scaling() const;
  // Whether PEFT adapts the module of that name ("model.layers.0.self_attn.q_proj").
  bool targets(const std::string& module_name) const;
  // The target_modules entries (or the regular expression) that name none of `modules`.
  std::vector<std::string> unmatched_targets(const std::vector<std::string>& modules) const;

  // Reads {"rank", "alpha", "dropout", "target_modules", "use_rslora", "compute"}; every field is
  // optional. Errors name the field under `field` ("lora.rank: must be ≥ 1").
  static LoraSettings from_json(const nlohmann::json& j, const std::string& field);
  nlohmann::json to_json() const;
};

// Reads one field of the settings into `settings`: ours (rank, alpha, dropout,
// target_modules, use_rslora) or, with `peft_names`, adapter_config.json's (r, lora_alpha,
// lora_dropout, target_modules, use_rslora). `where` names the field in errors. Returns
// false, changing nothing, for any other key.
bool read_lora_field(LoraSettings& settings, const std::string& key, const nlohmann::json& value,
                     bool peft_names, const std::string& where);

}  // namespace lmf::torch_backend
