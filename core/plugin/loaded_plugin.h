// One plugin library in memory: its file, its descriptor and its components.
#pragma once

#include <lmf/lmf.h>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lmf::plugin {
class HostServices;
class PluginRegistry;
class LoadedPlugin;
}  // namespace lmf::plugin

// The handle a plugin receives at load (lmf_host_t): which plugin is calling, and what
// it may reach. Owned by the LoadedPlugin.
struct lmf_host {
  lmf::plugin::HostServices* services = nullptr;
  lmf::plugin::PluginRegistry* registry = nullptr;  // NULL once the registry is gone
  std::string source;  // the plugin's name for logs (its file name until the descriptor)
  std::mutex dependencies_mutex;
  // Plugins whose components this one looked up: kept loaded as long as this one.
  std::vector<std::shared_ptr<lmf::plugin::LoadedPlugin>> dependencies;
};

namespace lmf::plugin {

// Note [Unload order]
// A LoadedPlugin is shared by the registry and by every instance made from its
// components (ComponentInstance). The library is unloaded when the last of them lets go:
// after every instance was destroyed, `shutdown` runs, then dlclose.
class LoadedPlugin {
 public:
  LoadedPlugin(std::filesystem::path file, boost::dll::shared_library library,
               std::unique_ptr<lmf_host> host, const lmf_plugin* descriptor);
  ~LoadedPlugin();
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const std::filesystem::path& file() const { return file_; }
  const lmf_plugin& descriptor() const { return *descriptor_; }
  std::string name() const;
  std::string version() const;
  std::string vendor() const;
  std::string description() const;
  std::vector<const lmf_component*> components() const;
  lmf_host* host() const { return host_.get(); }

 private:
  std::filesystem::path file_;
  // Declared before host_: the library is unloaded last, after the host handle (which may
  // hold dependencies) and the shutdown call.
  boost::dll::shared_library library_;
  std::unique_ptr<lmf_host> host_;
  const lmf_plugin* descriptor_;
};

}  // namespace lmf::plugin
