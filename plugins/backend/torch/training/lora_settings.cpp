#include "training/lora_settings.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <cmath>
#include <regex>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

// Note [LoRA target modules]
// As PEFT's check_target_module_exists: a list names a module when one of its entries
// equals the module's whole name or a dotted suffix of it ("q_proj" and "self_attn.q_proj"
// both name "model.layers.0.self_attn.q_proj"); a single string is a regular expression
// that must match the whole name (re.fullmatch; std::regex's ECMAScript grammar agrees
// with Python's on the usual patterns), except "all-linear", which PEFT expands to every
// Linear but the output layer: the seven projections of each block. Only the blocks'
// projections can be adapted here; a name that matches none of them is refused when the
// adapters are attached (lora.h), where PEFT would only refuse when nothing matches.

bool names_module(const std::string& entry, const std::string& module) {
  return module == entry ||
         (module.size() > entry.size() &&
          module.compare(module.size() - entry.size(), entry.size(), entry) == 0 &&
          module[module.size() - entry.size() - 1] == '.');
}

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, where + ": " + what);
}

void read_targets(LoraSettings& settings, const json& value, const std::string& where) {
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    settings.target_modules.clear();
    settings.target_regex.clear();
    if (text == "all-linear") {
      settings.target_modules = kLoraAllLinear;
      return;
    }
    if (text.empty()) bad(where, "must not be empty");
    try {
      std::regex check(text);
    } catch (const std::regex_error& e) {
      bad(where, "\"" + text + "\" is not a regular expression (" + e.what() + ")");
    }
    settings.target_regex = text;
    return;
  }
  if (!value.is_array() || value.empty())
    bad(where,
        "must be a non-empty list of module names, a regular expression or \"all-linear\", not " +
            value.dump());
  settings.target_modules.clear();
  settings.target_regex.clear();
  for (const json& entry : value) {
    if (!entry.is_string() || entry.get<std::string>().empty())
      bad(where, "must hold module names (non-empty strings), not " + entry.dump());
    settings.target_modules.push_back(entry.get<std::string>());
  }
}

}  // namespace

double LoraSettings::scaling() const {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(rank))
                    : alpha / static_cast<double>(rank);
}

bool LoraSettings::targets(const std::string& module_name) const {
  if (!target_regex.empty()) return std::regex_match(module_name, std::regex(target_regex));
  for (const std::string& entry : target_modules)
    if (names_module(entry, module_name)) return true;
  return false;
}

std::vector<std::string> LoraSettings::unmatched_targets(
    const std::vector<std::string>& modules) const {
  std::vector<std::string> unmatched;
  auto matches_none = [&](auto&& names) {
    return std::none_of(modules.begin(), modules.end(), names);
  };
  if (!target_regex.empty()) {
    const std::regex pattern(target_regex);
    if (matches_none([&](const std::string& m) { return std::regex_match(m, pattern); }))
      unmatched.push_back(target_regex);
    return unmatched;
  }
  for (const std::string& entry : target_modules)
    if (matches_none([&](const std::string& m) { return names_module(entry, m); }))
      unmatched.push_back(entry);
  return unmatched;
}

bool read_lora_field(LoraSettings& s, const std::string& key, const json& value, bool peft_names,
                     const std::string& where) {
  if (key == (peft_names ? "r" : "rank")) {
    if (!value.is_number_integer() || value.get<int64_t>() < 1)
      bad(where, "must be an integer ≥ 1, not " + value.dump());
    s.rank = value.get<int64_t>();
  } else if (key == (peft_names ? "lora_alpha" : "alpha")) {
    if (!value.is_number() || !(value.get<double>() > 0))
      bad(where, "must be a number > 0, not " + value.dump());
    s.alpha = value.get<double>();
  } else if (key == (peft_names ? "lora_dropout" : "dropout")) {
    if (!value.is_number() || !(value.get<double>() >= 0 && value.get<double>() < 1))
      bad(where, "must be a number in [0, 1), not " + value.dump());
    s.dropout = value.get<double>();
  } else if (key == "target_modules") {
    read_targets(s, value, where);
  } else if (key == "use_rslora") {
    if (!value.is_boolean()) bad(where, "must be true or false, not " + value.dump());
    s.use_rslora = value.get<bool>();
  } else if (key == "compute" && !peft_names) {
    if (value != "input" && value != "adapter") bad(where, "must be \"input\" or \"adapter\", not " + value.dump());
    s.compute = value.get<std::string>();
  } else {
    return false;
  }
  return true;
}

LoraSettings LoraSettings::from_json(const json& j, const std::string& field) {
  if (!j.is_object()) bad(field, "must be an object, not " + j.dump());
  LoraSettings s;
  for (const auto& [key, value] : j.items())
    if (!read_lora_field(s, key, value, /*peft_names=*/false, field + "." + key))
      bad(field + "." + key,
          "is not a field here (known: rank, alpha, dropout, target_modules, use_rslora, compute)");
  return s;
}

json LoraSettings::to_json() const {
  return {{"rank", rank},
          {"alpha", alpha},
          {"dropout", dropout},
          {"target_modules", target_regex.empty() ? json(target_modules) : json(target_regex)},
          {"use_rslora", use_rslora},
          {"compute", compute}};
}

}  // namespace lmf::torch_backend
