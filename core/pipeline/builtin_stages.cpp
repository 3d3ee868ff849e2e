#include "core/pipeline/builtin_stages.h"

#include "core/data/prepare.h"
#include "core/model/evaluate_stage.h"
#include "core/model/generate_stage.h"
#include "core/model/quantize_stage.h"
#include "core/model/train_stage.h"
#include "core/tokenizer/train_stage.h"

#include <map>
#include <stdexcept>

namespace lmf::pipeline {
namespace {

// plugins.check: the plugin set a pipeline relies on is there and loaded cleanly.
const nlohmann::json plugins_check_schema = nlohmann::json::parse(R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "require": {
      "type": "array",
      "default": [],
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["kind", "name"],
        "properties": {
          "kind": {"enum": ["data_source", "tokenizer", "parallel", "quantizer", "backend", "frontend"]},
          "name": {"type": "string", "minLength": 1}
        }
      }
    },
    "allow_load_failures": {"type": "boolean", "default": false}
  }
})");

nlohmann::json plugin_set_summary(const plugin::PluginRegistry& registry) {
  nlohmann::json plugins = nlohmann::json::array();
  for (const auto& plugin : registry.plugins())
    plugins.push_back({{"name", plugin->name()},
                       {"version", plugin->version()},
                       {"vendor", plugin->vendor()},
                       {"file", plugin->file().string()}});
  nlohmann::json components = nlohmann::json::object();
  for (const plugin::ComponentRef& ref : registry.components())
    components[ref.kind->name].push_back(ref.name());
  nlohmann::json failures = nlohmann::json::array();
  for (const plugin::LoadFailure& failure : registry.failures())
    failures.push_back(failure.message);
  return {{"plugins", plugins}, {"components", components}, {"load_failures", failures}};
}

nlohmann::json run_plugins_check(const nlohmann::json& params,
                                 const plugin::PluginRegistry& registry, RunServices& services) {
  nlohmann::json summary = plugin_set_summary(registry);
  std::vector<std::string> problems;
  for (const nlohmann::json& wanted : params["require"]) {
    lmf_kind kind = *plugin::kind_from_name(wanted["kind"].get<std::string>());
    try {
      registry.require(kind, wanted["name"].get<std::string>());
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  if (!params["allow_load_failures"].get<bool>())
    for (const auto& failure : summary["load_failures"])
      problems.push_back(failure.get<std::string>());
  for (const auto& [kind, names] : summary["components"].items())
    services.log(LMF_LOG_INFO, "host", kind + ": " + names.dump());
  if (!problems.empty()) {
    std::string text = "the plugin set is incomplete:";
    for (const std::string& problem : problems) text += "\n  " + problem;
    throw std::runtime_error(text);
  }
  return summary;
}

}  // namespace

std::vector<std::string> builtin_stage_names() {
  return {"plugins.check", "data.prepare", "tokenizer.train", "model.generate", "model.evaluate", "model.train", "model.quantize"};
}

const nlohmann::json& builtin_stage_schema(const std::string& name) {
  if (name == "plugins.check") return plugins_check_schema;
  if (name == "data.prepare") return data::prepare_params_schema();
  if (name == "tokenizer.train") return tokenizer::train_params_schema();
  if (name == "model.generate") return model::generate_params_schema();
  if (name == "model.evaluate") return model::evaluate_params_schema();
  if (name == "model.train") return model::train_params_schema();
  if (name == "model.quantize") return model::quantize_params_schema();
  throw std::out_of_range("no builtin stage \"" + name + "\"");
}

std::vector<BuiltinIssue> validate_builtin_stage(const std::string& name, nlohmann::json& params,
                                                 const std::string& params_pointer,
                                                 const plugin::PluginRegistry& registry) {
  std::vector<BuiltinIssue> issues;
  if (name == "data.prepare")
    for (const data::PrepareIssue& issue : data::validate_prepare_params(params, params_pointer, registry))
      issues.push_back({issue.pointer, issue.message, issue.missing_component});
  if (name == "tokenizer.train")
    for (const plugin::SpecIssue& issue : tokenizer::validate_train_params(params, params_pointer, registry))
      issues.push_back({issue.pointer, issue.message, issue.missing_component});
  if (name == "model.train")
    for (const plugin::SpecIssue& issue : model::validate_train_params(params, params_pointer, registry))
      issues.push_back({issue.pointer, issue.message, issue.missing_component});
  if (name == "model.quantize")
    for (const plugin::SpecIssue& issue : model::validate_quantize_params(params, params_pointer, registry))
      issues.push_back({issue.pointer, issue.message, issue.missing_component});
  if (name == "model.generate" || name == "model.evaluate")
    for (const model::ModelParamsIssue& issue : model::validate_model_params(params, params_pointer, registry))
      issues.push_back({issue.pointer, issue.message, issue.missing_component});
  return issues;
}

nlohmann::json run_builtin_stage(const std::string& name, const nlohmann::json& params,
                                 const plugin::PluginRegistry& registry, RunServices& services) {
  if (name == "plugins.check") return run_plugins_check(params, registry, services);
  if (name == "data.prepare") return data::run_prepare(params, registry, services);
  if (name == "tokenizer.train") return tokenizer::run_train(params, registry, services);
  if (name == "model.generate") return model::run_generate(params, registry, services);
  if (name == "model.evaluate") return model::run_evaluate(params, registry, services);
  if (name == "model.train") return model::run_train(params, registry, services);
  if (name == "model.quantize") return model::run_quantize(params, registry, services);
  throw std::out_of_range("no builtin stage \"" + name + "\"");
}

}  // namespace lmf::pipeline
