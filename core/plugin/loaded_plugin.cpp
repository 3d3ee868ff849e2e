#include "core/plugin/loaded_plugin.h"

namespace lmf::plugin {
namespace {

std::string text_or_empty(const char* text) {
  return text == nullptr ? std::string() : text;
}

}  // namespace

LoadedPlugin::LoadedPlugin(std::filesystem::path file, boost::dll::shared_library library,
                           std::unique_ptr<lmf_host> host, const lmf_plugin* descriptor)
    : file_(std::move(file)),
      library_(std::move(library)),
      host_(std::move(host)),
      descriptor_(descriptor) {}

LoadedPlugin::~LoadedPlugin() {
  if (LMF_HAS_MEMBER(descriptor_, lmf_plugin, shutdown) && descriptor_->shutdown != nullptr) {
    try {
      descriptor_->shutdown(host_.get());
    } catch (...) {
      // A plugin that throws from shutdown must not take the host down with it.
    }
  }
  host_.reset();
  library_.unload();
}

std::string LoadedPlugin::name() const {
  return text_or_empty(descriptor_->name);
}
std::string LoadedPlugin::version() const {
  return text_or_empty(descriptor_->version);
}
std::string LoadedPlugin::vendor() const {
  return text_or_empty(descriptor_->vendor);
}
std::string LoadedPlugin::description() const {
  return LMF_HAS_MEMBER(descriptor_, lmf_plugin, description)
             ? text_or_empty(descriptor_->description)
             : std::string();
}

std::vector<const lmf_component*> LoadedPlugin::components() const {
  return {descriptor_->components, descriptor_->components + descriptor_->component_count};
}

}  // namespace lmf::plugin
