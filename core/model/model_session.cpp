#include "core/model/model_session.h"

#include "core/plugin/host_api.h"
#include "core/plugin/status.h"

#include <memory>

namespace lmf::model {
namespace {

using nlohmann::json;

const json kProperties = json::parse(R"JSON({
  "backend": {
    "type": "object", "additionalProperties": false, "required": ["component"],
    "default": {"component": "torch"},
    "properties": {"component": {"type": "string", "minLength": 1}, "config": {"type": "object"}},
    "description": "the model backend component and its config"
  },
  "model": {"type": "string", "minLength": 1, "description": "a Hugging Face model folder"},
  "load": {"type": "object", "default": {}, "description": "load options of the backend (device, dtype, ...)"},
  "tokenizer": {
    "type": "object", "additionalProperties": false, "required": ["component"],
    "properties": {"component": {"type": "string", "minLength": 1}, "config": {"type": "object"}},
    "description": "the tokenizer for text; default: the hf component on the model folder's tokenizer.json"
  }
})JSON");

json tokenizer_spec(const json& params) {
  if (params.contains("tokenizer")) return params["tokenizer"];
  return {{"component", "hf"}, {"config", {{"path", params.at("model")}}}};
}

plugin::ComponentInstance make(const plugin::PluginRegistry& registry, lmf_kind kind, const json& spec) {
  return plugin::ComponentInstance(registry.require(kind, spec.at("component").get<std::string>()),
                                   spec.value("config", json::object()));
}

std::string json_arg(const json& value) { return value.dump(); }

}  // namespace

const json& model_params_schema_properties() { return kProperties; }

std::vector<ModelParamsIssue> validate_model_params(json& params, const std::string& pointer,
                                                    const plugin::PluginRegistry& registry) {
  if (!params.contains("tokenizer") && params.contains("model") && params["model"].is_string())
    params["tokenizer"] = tokenizer_spec(params);
  return plugin::validate_component_specs(
      params, pointer, {{"backend", LMF_KIND_BACKEND}, {"tokenizer", LMF_KIND_TOKENIZER}}, registry);
}

ModelSession::ModelSession(const json& params, const plugin::PluginRegistry& registry)
    : backend_(make(registry, LMF_KIND_BACKEND, params.at("backend"))),
      tokenizer_(make(registry, LMF_KIND_TOKENIZER, tokenizer_spec(params))),
      backend_vtable_(&backend_.vtable<lmf_backend_vtable>(LMF_KIND_BACKEND)),
      tokenizer_vtable_(&tokenizer_.vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER)) {
  const std::string model = params.at("model").get<std::string>();
  const std::string options = json_arg(params.value("load", json::object()));
  plugin::check_status(backend_vtable_->load(backend_.get(), {model.data(), model.size()},
                                             {options.data(), options.size()}),
                       backend_.label() + ": load " + model);
}

json ModelSession::info() const {
  lmf_string out{nullptr, 0};
  plugin::check_status(backend_vtable_->info(backend_.get(), &out), backend_.label() + ": info");
  std::unique_ptr<char, void (*)(void*)> owner(out.data, plugin::host_api()->free);
  return json::parse(std::string_view(out.data, out.size));
}

std::vector<int32_t> ModelSession::encode(const std::string& text, bool add_special_tokens) const {
  lmf_str_view view{text.data(), text.size()};
  lmf_token_batch batch{nullptr, nullptr, 0};
  plugin::check_status(tokenizer_vtable_->encode(tokenizer_.get(), &view, 1,
                                                 add_special_tokens ? LMF_TOKENIZE_ADD_SPECIAL : 0u, &batch),
                       tokenizer_.label() + ": encode");
  std::unique_ptr<int32_t, void (*)(void*)> ids(batch.ids, plugin::host_api()->free);
  std::unique_ptr<size_t, void (*)(void*)> offsets(batch.offsets, plugin::host_api()->free);
  return std::vector<int32_t>(batch.ids + batch.offsets[0], batch.ids + batch.offsets[1]);
}

std::string ModelSession::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  lmf_string out{nullptr, 0};
  plugin::check_status(tokenizer_vtable_->decode(tokenizer_.get(), ids.data(), ids.size(),
                                                 skip_special_tokens ? LMF_TOKENIZE_SKIP_SPECIAL : 0u, &out),
                       tokenizer_.label() + ": decode");
  std::unique_ptr<char, void (*)(void*)> owner(out.data, plugin::host_api()->free);
  return std::string(out.data, out.size);
}

}  // namespace lmf::model
