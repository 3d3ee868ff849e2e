// An instance of a component, made from a validated config; destroys itself and keeps its
// plugin loaded while it lives (Note [Unload order]).
#pragma once

#include "core/plugin/registry.h"
#include "core/plugin/status.h"

#include <nlohmann/json.hpp>

#include <string>

namespace lmf::plugin {

class ComponentInstance {
 public:
  // Calls the component's create with `config` (already validated against its schema).
  ComponentInstance(ComponentRef ref, const nlohmann::json& config);
  ~ComponentInstance();
  ComponentInstance(ComponentInstance&& other) noexcept;
  ComponentInstance& operator=(ComponentInstance&& other) noexcept;
  ComponentInstance(const ComponentInstance&) = delete;
  ComponentInstance& operator=(const ComponentInstance&) = delete;

  lmf_instance_t* get() const { return instance_; }
  const ComponentRef& ref() const { return ref_; }
  // "quantizer \"int8_rtn\"": how messages name this component.
  std::string label() const;

  // The kind's vtable; `expected_kind` guards against asking a tokenizer for a backend's.
  template <class VTable>
  const VTable& vtable(lmf_kind expected_kind) const {
    if (ref_.component->kind != expected_kind)
      throw PluginError(LMF_ERR_INVALID_ARGUMENT,
                        label() + " is not a " + kind_name(expected_kind));
    return *static_cast<const VTable*>(ref_.component->vtable);
  }

  bool runs_as_stage() const;
  // Runs the component as a pipeline stage; returns its JSON summary.
  nlohmann::json run_stage(const nlohmann::json& stage) const;

 private:
  ComponentRef ref_;
  lmf_instance_t* instance_ = nullptr;
};

}  // namespace lmf::plugin
