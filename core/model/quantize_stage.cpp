#include "core/model/quantize_stage.h"

#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/status.h"

#include <lmf/lmf_backend.h>

#include <cstdio>
#include <memory>

namespace lmf::model {
namespace {

using nlohmann::json;

const json kSchema = json::parse(R"JSON({
  "type": "object",
  "additionalProperties": false,
  "required": ["model", "quantizer", "output"],
  "properties": {
    "backend": {
      "type": "object", "additionalProperties": false, "required": ["component"],
      "default": {"component": "torch"},
      "properties": {"component": {"type": "string", "minLength": 1}, "config": {"type": "object"}},
      "description": "the model backend that runs the calibration samples and writes the folder"
    },
    "model": {"type": "string", "minLength": 1, "description": "the Hugging Face model folder to quantize"},
    "load": {"type": "object", "default": {}, "description": "load options of the backend (device, dtype, ...)"},
    "quantizer": {
      "type": "object", "additionalProperties": false, "required": ["component"],
      "properties": {"component": {"type": "string", "minLength": 1}, "config": {"type": "object"}},
      "description": "the quantizer component (rtn, gptq, nf4, a vendor's) and its config"
    },
    "calibration": {
      "type": "object", "additionalProperties": false, "default": {},
      "properties": {
        "shards": {"type": "string", "minLength": 1, "description": "data prepare's output folder"},
        "split": {"type": "string", "default": "train"},
        "samples": {"type": "integer", "minimum": 1, "default": 128},
        "seq_length": {"type": "integer", "minimum": 2, "default": 512},
        "batch": {"type": "integer", "minimum": 1, "default": 8}
      },
      "description": "the samples a calibrating quantizer (gptq, awq) observes: blocks of seq_length tokens"
    },
    "output": {"type": "string", "minLength": 1, "description": "the quantized model's folder"},
    "overwrite": {"type": "boolean", "default": false, "description": "replace an existing output folder"},
    "true_sequential": {"type": "boolean", "default": true,
                        "description": "quantize q/k/v, o, gate/up, down one group after another within a block"},
    "modules": {"type": "array", "items": {"type": "string"},
                "description": "the projections to quantize (default all seven)"}
  }
})JSON");

std::string table_of(const json& summary) {
  char line[256];
  std::snprintf(line, sizeof line, "%s: %lld modules, relative weight error mean %.4f, max %.4f",
                summary.value("quantizer", "").c_str(), static_cast<long long>(summary.value("modules", int64_t{0})),
                summary.value("mean_relative_weight_error", 0.0), summary.value("max_relative_weight_error", 0.0));
  std::string table = line;
  if (summary.contains("format")) table += "\nformat " + summary["format"].dump();
  if (summary.value("calibration_samples", int64_t{0}) > 0)
    table += "\ncalibrated on " + std::to_string(summary["calibration_samples"].get<int64_t>()) + " samples";
  if (summary.contains("output")) table += "\nwrote " + summary["output"].get<std::string>();
  return table;
}

}  // namespace

const json& quantize_params_schema() { return kSchema; }

std::vector<plugin::SpecIssue> validate_quantize_params(json& params, const std::string& pointer,
                                                        const plugin::PluginRegistry& registry) {
  return plugin::validate_component_specs(params, pointer,
                                          {{"backend", LMF_KIND_BACKEND}, {"quantizer", LMF_KIND_QUANTIZER}}, registry);
}

json run_quantize(const json& params, const plugin::PluginRegistry& registry, pipeline::RunServices&) {
  const json& spec = params.at("backend");
  plugin::ComponentInstance backend(registry.require(LMF_KIND_BACKEND, spec.at("component").get<std::string>()),
                                    spec.value("config", json::object()));
  const auto& vtable = backend.vtable<lmf_backend_vtable>(LMF_KIND_BACKEND);
  if (vtable.quantize == nullptr) throw std::runtime_error(backend.label() + ": this backend cannot quantize");
  const std::string model = params.at("model").get<std::string>();
  const std::string options = params.value("load", json::object()).dump();
  plugin::check_status(vtable.load(backend.get(), {model.data(), model.size()}, {options.data(), options.size()}),
                       backend.label() + ": load " + model);

  json config = params;
  for (const char* host_only : {"backend", "model", "load"}) config.erase(host_only);
  const std::string text = config.dump();
  lmf_string out{nullptr, 0};
  plugin::check_status(vtable.quantize(backend.get(), {text.data(), text.size()}, &out),
                       backend.label() + ": quantize");
  std::unique_ptr<char, void (*)(void*)> owner(out.data, plugin::host_api()->free);
  json summary = json::parse(std::string_view(out.data, out.size));
  summary["table"] = table_of(summary);
  return summary;
}

}  // namespace lmf::model
