// Hugging Face PEFT's adapter folder: adapter_config.json and adapter_model.safetensors,
// the tensors named as PEFT's save_pretrained names them.
#pragma once

#include "tensor_io.h"
#include "training/lora_settings.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>

namespace lmf::torch_backend {

inline constexpr const char* kPeftConfigFile = "adapter_config.json";
inline constexpr const char* kPeftWeightsFile = "adapter_model.safetensors";

// PEFT's saved name of a module's lora_A or lora_B weight (`matrix` 'A' or 'B'):
// "base_model.model." + module + ".lora_A.weight". PEFT's own parameter names hold the
// adapter's name (".lora_A.default.weight"), which save_pretrained removes.
std::string peft_tensor_name(const std::string& module, char matrix);

// adapter_config.json as PEFT writes it for a LoraConfig of a causal LM (every field of
// LoraConfig, keys sorted, inference_mode true).
nlohmann::json peft_adapter_config(const LoraSettings& settings,
                                   const std::string& base_model_name_or_path);

// Reads `folder`/adapter_config.json and refuses, naming the file and the field, a
// configuration this backend does not compute as PEFT does (Note [PEFT fields refused]).
LoraSettings read_peft_adapter_config(const std::filesystem::path& folder);

// Every tensor of `folder`/adapter_model.safetensors, on the CPU.
std::map<std::string, torch::Tensor> read_peft_tensors(const std::filesystem::path& folder);

// Writes adapter_config.json and adapter_model.safetensors into a temporary folder beside
// `folder`, then renames it into place (Note [Saving atomically] in save_model.h). An
// existing `folder` is replaced only when it holds nothing but an adapter's files.
void write_peft_folder(const std::filesystem::path& folder, const nlohmann::json& config,
                       const NamedTensors& tensors);

}  // namespace lmf::torch_backend
