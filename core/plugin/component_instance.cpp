#include "core/plugin/component_instance.h"

#include "core/plugin/host_api.h"

#include <utility>

namespace lmf::plugin {

ComponentInstance::ComponentInstance(ComponentRef ref, const nlohmann::json& config)
    : ref_(std::move(ref)) {
  const std::string text = config.dump();
  lmf_instance_t* made = nullptr;
  lmf_status_t* status = nullptr;
  try {
    status = ref_.component->create(ref_.plugin->host(), {text.data(), text.size()}, &made);
  } catch (...) {
    throw PluginError(LMF_ERR_INTERNAL, label() + ": create threw an exception");
  }
  check_status(status, label() + ": create");
  if (made == nullptr)
    throw PluginError(LMF_ERR_INTERNAL, label() + ": create succeeded but returned no instance");
  instance_ = made;
}

ComponentInstance::~ComponentInstance() {
  if (instance_ != nullptr) ref_.component->destroy(instance_);
}

ComponentInstance::ComponentInstance(ComponentInstance&& other) noexcept
    : ref_(std::move(other.ref_)), instance_(std::exchange(other.instance_, nullptr)) {}

ComponentInstance& ComponentInstance::operator=(ComponentInstance&& other) noexcept {
  if (this != &other) {
    if (instance_ != nullptr) ref_.component->destroy(instance_);
    ref_ = std::move(other.ref_);
    instance_ = std::exchange(other.instance_, nullptr);
  }
  return *this;
}

std::string ComponentInstance::label() const {
  return std::string(kind_name(ref_.component->kind)) + " \"" + ref_.component->name + "\"";
}

bool ComponentInstance::runs_as_stage() const {
  return LMF_HAS_MEMBER(ref_.component, lmf_component, run_stage) &&
         ref_.component->run_stage != nullptr;
}

nlohmann::json ComponentInstance::run_stage(const nlohmann::json& stage) const {
  if (!runs_as_stage())
    throw PluginError(LMF_ERR_UNSUPPORTED, label() + " cannot run as a pipeline stage");
  const std::string text = stage.dump();
  lmf_string summary{nullptr, 0};
  check_status(ref_.component->run_stage(instance_, {text.data(), text.size()}, &summary),
               label() + ": run_stage");
  const lmf_host_api* api = host_api();
  nlohmann::json parsed =
      summary.data == nullptr
          ? nlohmann::json::object()
          : nlohmann::json::parse(summary.data, summary.data + summary.size, nullptr, false);
  api->free(summary.data);
  if (parsed.is_discarded())
    throw PluginError(LMF_ERR_DATA, label() + ": run_stage returned a summary that is not JSON");
  return parsed;
}

}  // namespace lmf::plugin
