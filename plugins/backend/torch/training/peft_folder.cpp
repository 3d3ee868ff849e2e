#include "training/peft_folder.h"

#include <lmf/sdk/error.h>

#include <unistd.h>

#include <cmath>
#include <fstream>
#include <set>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Note [PEFT fields refused]
// A LoraConfig field that changes what the adapter computes in a way this backend does
// not follow: any value but a neutral one (absent, null, false, {} or []) is refused, so
// that an adapter either loads and computes what PEFT computes, or does not load. Fields
// not listed (revision, auto_mapping, eva_config, peft_version…) only describe how the
// adapter was made and are ignored, as are fields of future PEFT versions.
constexpr const char* kRefusedFields[][2] = {
    {"use_dora", "DoRA"},
    {"fan_in_fan_out", "transposed (Conv1D) base weights"},
    {"modules_to_save", "fully trained copies of modules"},
    {"rank_pattern", "per-module ranks"},
    {"alpha_pattern", "per-module alphas"},
    {"layers_to_transform", "adapting a subset of the layers"},
    {"layers_pattern", "adapting a subset of the layers"},
    {"layer_replication", "replicated layers"},
    {"exclude_modules", "excluded modules"},
    {"lora_bias", "LoRA biases"},
    {"target_parameters", "adapted parameters"},
    {"trainable_token_indices", "trained token embeddings"},
    {"use_qalora", "QALoRA"},
    {"alora_invocation_tokens", "activated LoRA"},
    {"use_bdlora", "BD-LoRA"},
    {"megatron_config", "Megatron layers"},
};

// init_lora_weights values that also change the base weights, which a loaded adapter
// would then need.
constexpr const char* kBaseChangingInits[] = {"pissa", "olora", "loftq", "corda", "lora_ga"};

bool neutral(const json& value) {
  return value.is_null() || (value.is_boolean() && !value.get<bool>()) ||
         ((value.is_object() || value.is_array()) && value.empty());
}

[[noreturn]] void bad_field(const fs::path& file, const std::string& field,
                            const std::string& what) {
  sdk::fail(LMF_ERR_DATA, file.string() + ": " + field + ": " + what);
}

void check_supported(const fs::path& file, const json& config) {
  for (const auto& [field, what] : kRefusedFields)
    if (config.contains(field) && !neutral(config.at(field)))
      bad_field(file, field,
                config.at(field).dump() + " asks for " + what + ", which is not supported");
  if (config.value("peft_type", json()) != "LORA")
    bad_field(file, "peft_type",
              "is " + config.value("peft_type", json()).dump() + "; only LORA adapters load here");
  if (config.contains("bias") && config.at("bias") != "none")
    bad_field(file, "bias", "is " + config.at("bias").dump() + "; only \"none\" is supported");
  const json task = config.value("task_type", json());
  if (!task.is_null() && task != "CAUSAL_LM")
    bad_field(file, "task_type", "is " + task.dump() + "; a decoder takes CAUSAL_LM adapters");
  const json init = config.value("init_lora_weights", json());
  if (init.is_string())
    for (const char* changing : kBaseChangingInits)
      if (init.get<std::string>().rfind(changing, 0) == 0)
        bad_field(file, "init_lora_weights",
                  init.dump() + " changes the base weights too, which is not supported");
}

void require_file(const fs::path& file) {
  if (!fs::is_regular_file(file))
    sdk::fail(LMF_ERR_NOT_FOUND, file.string() + ": missing (a PEFT adapter folder holds " +
                                     kPeftConfigFile + " and " + kPeftWeightsFile + ")");
}

json read_json_file(const fs::path& file) {
  require_file(file);
  std::ifstream in(file);
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    sdk::fail(LMF_ERR_DATA, file.string() + ": not valid JSON: " + e.what());
  }
}

void write_json_file(const fs::path& file, const json& value) {
  std::ofstream out(file);
  out << value.dump(2) << "\n";
  if (!out.flush()) sdk::fail(LMF_ERR_IO, file.string() + ": write failed");
}

// What a PEFT save leaves in a folder; anything else makes the folder someone else's.
bool is_adapter_file(const fs::path& name) {
  return name == kPeftConfigFile || name == kPeftWeightsFile || name == "README.md";
}

}  // namespace

std::string peft_tensor_name(const std::string& module, char matrix) {
  return "base_model.model." + module + ".lora_" + matrix + ".weight";
}

json peft_adapter_config(const LoraSettings& s, const std::string& base_model_name_or_path) {
  // PEFT's lora_alpha is an int unless given as a float.
  const json alpha =
      s.alpha == std::floor(s.alpha) ? json(static_cast<int64_t>(s.alpha)) : json(s.alpha);
  return {
      {"alpha_pattern", json::object()},
      {"auto_mapping", nullptr},
      {"base_model_name_or_path", base_model_name_or_path},
      {"bias", "none"},
      {"corda_config", nullptr},
      {"eva_config", nullptr},
      {"exclude_modules", nullptr},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"init_lora_weights", true},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"loftq_config", json::object()},
      {"lora_alpha", alpha},
      {"lora_bias", false},
      {"lora_dropout", s.dropout},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"modules_to_save", nullptr},
      {"peft_type", "LORA"},
      {"r", s.rank},
      {"rank_pattern", json::object()},
      {"revision", nullptr},
      {"target_modules", s.target_regex.empty() ? json(s.target_modules) : json(s.target_regex)},
      {"task_type", "CAUSAL_LM"},
      {"trainable_token_indices", nullptr},
      {"use_dora", false},
      {"use_rslora", s.use_rslora}};
}

LoraSettings read_peft_adapter_config(const fs::path& folder) {
  const fs::path file = folder / kPeftConfigFile;
  const json config = read_json_file(file);
  if (!config.is_object()) sdk::fail(LMF_ERR_DATA, file.string() + ": must hold a JSON object");
  check_supported(file, config);
  for (const char* required : {"r", "lora_alpha", "target_modules"})
    if (!config.contains(required) || config.at(required).is_null())
      bad_field(file, required, "missing (PEFT writes it for every LoRA adapter)");
  LoraSettings settings;
  settings.compute = "adapter";  // a PEFT adapter computes as PEFT computes it (fp32 term)
  for (const auto& [key, value] : config.items()) {
    if (value.is_null()) continue;
    try {
      read_lora_field(settings, key, value, /*peft_names=*/true, key);
    } catch (const sdk::Error& e) {
      sdk::fail(LMF_ERR_DATA, file.string() + ": " + e.what());
    }
  }
  return settings;
}

std::map<std::string, torch::Tensor> read_peft_tensors(const fs::path& folder) {
  const fs::path file = folder / kPeftWeightsFile;
  if (!fs::is_regular_file(file) && fs::exists(folder / "adapter_model.bin"))
    sdk::fail(LMF_ERR_UNSUPPORTED, file.string() +
                                       ": missing; adapter_model.bin (a pickle) is not read, save "
                                       "the adapter with safe_serialization=True");
  require_file(file);
  return read_tensor_file(file);
}

void write_peft_folder(const fs::path& folder, const json& config, const NamedTensors& tensors) {
  const fs::path target = fs::absolute(folder).lexically_normal();
  if (fs::exists(target)) {
    if (!fs::is_directory(target))
      sdk::fail(LMF_ERR_INVALID_ARGUMENT, target.string() + ": exists and is not a folder");
    for (const fs::directory_entry& entry : fs::directory_iterator(target))
      if (!is_adapter_file(entry.path().filename()))
        sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                  target.string() + ": holds " + entry.path().filename().string() +
                      ", which is not an adapter's file; give an empty or new folder");
  }
  const fs::path staging = target.string() + ".partial-" + std::to_string(::getpid());
  std::error_code ignored;
  fs::remove_all(staging, ignored);
  try {
    fs::create_directories(staging);
    write_json_file(staging / kPeftConfigFile, config);
    write_tensor_file(staging / kPeftWeightsFile, tensors);
    const fs::path old = target.string() + ".old-" + std::to_string(::getpid());
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(staging, target);
    fs::remove_all(old, ignored);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(staging, ignored);
    sdk::fail(LMF_ERR_IO, target.string() + ": " + e.what());
  } catch (...) {
    fs::remove_all(staging, ignored);
    throw;
  }
}

}  // namespace lmf::torch_backend
