// The plugin registry: loads plugin libraries, negotiates the ABI, validates what they
// provide, and finds components by kind and name.
#pragma once

#include "core/plugin/host_services.h"
#include "core/plugin/kinds.h"
#include "core/plugin/loaded_plugin.h"
#include "core/plugin/status.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lmf::plugin {

// A plugin whose name is already loaded from a folder earlier in the search path: skipped,
// not refused (Note [Plugin search path]).
class PluginShadowed : public PluginError {
 public:
  explicit PluginShadowed(const std::string& message) : PluginError(LMF_ERR_ABI, message) {}
};

// A plugin file the host refused, and why. The host goes on with the others.
struct LoadFailure {
  std::filesystem::path file;
  std::string message;  // "<file>: <cause>"
};

// A component of a loaded plugin; keeps the plugin loaded while held.
struct ComponentRef {
  std::shared_ptr<LoadedPlugin> plugin;
  const lmf_component* component = nullptr;
  const KindInfo* kind = nullptr;

  std::string name() const { return component->name; }
  std::string schema() const { return component->config_schema; }
};

class PluginRegistry {
 public:
  explicit PluginRegistry(HostServices& services);
  ~PluginRegistry();
  PluginRegistry(const PluginRegistry&) = delete;
  PluginRegistry& operator=(const PluginRegistry&) = delete;

  // Loads every shared object (*.so) found directly in each folder, in name order; a folder
  // that does not exist is skipped. Returns the refusals (also kept in failures()).
  std::vector<LoadFailure> load_directories(const std::vector<std::filesystem::path>& folders);
  // Loads one file, or throws PluginError whose message starts with the file's path.
  // A file already loaded (same canonical path) is returned again without reloading.
  std::shared_ptr<LoadedPlugin> load_file(const std::filesystem::path& file);

  std::vector<std::shared_ptr<LoadedPlugin>> plugins() const;
  std::vector<LoadFailure> failures() const;
  std::shared_ptr<LoadedPlugin> find_plugin(std::string_view name) const;
  // Every accepted component, ordered by kind, then name.
  std::vector<ComponentRef> components() const;
  std::vector<ComponentRef> components_of(const LoadedPlugin& plugin) const;
  std::optional<ComponentRef> find(lmf_kind kind, std::string_view name) const;
  // Like find, but throws PluginError(LMF_ERR_NOT_FOUND) listing the names of that kind.
  ComponentRef require(lmf_kind kind, std::string_view name) const;

  HostServices& services() const { return services_; }

 private:
  std::shared_ptr<LoadedPlugin> load_file_locked(const std::filesystem::path& file);
  // Note [Lookups while loading]
  std::shared_lock<std::shared_mutex> read_lock() const;

  HostServices& services_;
  mutable std::shared_mutex mutex_;
  std::atomic<std::thread::id> loading_thread_{};  // the thread inside load_file, if any
  std::vector<std::shared_ptr<LoadedPlugin>> plugins_;
  std::vector<ComponentRef> components_;
  std::vector<LoadFailure> failures_;
};

}  // namespace lmf::plugin
