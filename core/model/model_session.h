// A model loaded into a backend component, with the tokenizer that turns text into its
// ids: what the model.generate and model.evaluate stages (and `lmforge generate|eval`)
// share. Everything goes through the plugin ABI (Note [Layers]).
#pragma once

#include "core/plugin/component_instance.h"
#include "core/plugin/component_spec.h"
#include "core/plugin/registry.h"

#include <lmf/lmf_backend.h>
#include <lmf/lmf_tokenizer.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::model {

// The params every model stage takes: which backend, which model folder, load options,
// and the tokenizer (default: the hf component on the model folder).
const nlohmann::json& model_params_schema_properties();

class ModelSession {
 public:
  // Makes the backend and tokenizer instances named by `params` and loads the model.
  ModelSession(const nlohmann::json& params, const plugin::PluginRegistry& registry);

  const lmf_backend_vtable& backend() const { return *backend_vtable_; }
  lmf_instance_t* backend_instance() const { return backend_.get(); }
  std::string backend_label() const { return backend_.label(); }
  nlohmann::json info() const;

  std::vector<int32_t> encode(const std::string& text, bool add_special_tokens) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const;

 private:
  plugin::ComponentInstance backend_;
  plugin::ComponentInstance tokenizer_;
  const lmf_backend_vtable* backend_vtable_;
  const lmf_tokenizer_vtable* tokenizer_vtable_;
};

// Adds the params' components to the problems a pipeline check reports (missing
// component, config not matching its schema), with JSON pointers under `pointer`.
using ModelParamsIssue = plugin::SpecIssue;
std::vector<ModelParamsIssue> validate_model_params(nlohmann::json& params, const std::string& pointer,
                                                    const plugin::PluginRegistry& registry);

}  // namespace lmf::model
