#include "core/plugin/registry.h"

#include "core/config/schema.h"
#include "core/plugin/host_api.h"
#include "core/plugin/status.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <regex>
#include <system_error>

namespace lmf::plugin {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void refuse(const fs::path& file, lmf_status_code code, const std::string& cause) {
  throw PluginError(code, file.string() + ": " + cause);
}

// Boost.DLL appends dlerror()'s text to its own; the user wants the loader's words.
std::string dlopen_message(const std::exception& e) {
  std::string text = e.what();
  const std::string marker = "(dlerror system message: ";
  size_t at = text.find(marker);
  if (at == std::string::npos) return text;
  // "... (dlerror system message: <text>): <errno text>"
  std::string message = text.substr(at + marker.size());
  size_t end = message.rfind("): ");
  if (end == std::string::npos) end = message.rfind(')');
  return end == std::string::npos ? message : message.substr(0, end);
}

std::string version_text(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

bool valid_component_name(const char* name) {
  static const std::regex pattern("[a-z0-9][a-z0-9_.-]*");
  return name != nullptr && std::regex_match(name, pattern);
}

// Checks the descriptor against ABI 1.0's required prefix (Note [ABI growth]).
void validate_descriptor(const fs::path& file, const lmf_plugin* plugin) {
  // The major version first: struct_size, abi_major and abi_minor are the only members every
  // major version shares, so the size a 1.x descriptor needs says nothing about another's.
  if (plugin->abi_major != LMF_ABI_MAJOR)
    refuse(file, LMF_ERR_ABI,
           "built for plugin ABI " + version_text(plugin->abi_major, plugin->abi_minor) +
               ", but this host supports ABI " + version_text(LMF_ABI_MAJOR, LMF_ABI_MINOR) +
               " (the major versions must match: rebuild the plugin against this host's SDK)");
  if (!LMF_HAS_MEMBER(plugin, lmf_plugin, components))
    refuse(file, LMF_ERR_ABI,
           "descriptor is too small (struct_size " + std::to_string(plugin->struct_size) +
               ", ABI 1.0 needs at least " +
               std::to_string(offsetof(lmf_plugin, components) + sizeof(plugin->components)) + ")");
  if (plugin->name == nullptr || *plugin->name == '\0')
    refuse(file, LMF_ERR_ABI, "descriptor has no plugin name");
  if (plugin->version == nullptr) refuse(file, LMF_ERR_ABI, "descriptor has no version");
  if (plugin->component_count > 0 && plugin->components == nullptr)
    refuse(file, LMF_ERR_ABI,
           "descriptor lists " + std::to_string(plugin->component_count) +
               " components but its component array is NULL");
}

// Validates one component; returns its kind, or NULL for a kind this host does not know
// (a newer minor version's), which is skipped rather than refused.
const KindInfo* validate_component(const fs::path& file, const lmf_component* c, size_t index) {
  const std::string where = "component #" + std::to_string(index);
  if (c == nullptr) refuse(file, LMF_ERR_ABI, where + " is NULL");
  if (!LMF_HAS_MEMBER(c, lmf_component, vtable))
    refuse(
        file, LMF_ERR_ABI,
        where + ": descriptor is too small (struct_size " + std::to_string(c->struct_size) + ")");
  if (!valid_component_name(c->name))
    refuse(file, LMF_ERR_ABI,
           where + ": invalid name \"" + std::string(c->name ? c->name : "(null)") +
               "\" (use lower-case letters, digits, '_', '.', '-')");
  const std::string named = std::string(kind_name(c->kind)) + " \"" + c->name + "\"";
  const KindInfo* kind = find_kind(c->kind);
  if (kind == nullptr) return nullptr;
  if (c->create == nullptr) refuse(file, LMF_ERR_ABI, named + ": create is NULL");
  if (c->destroy == nullptr) refuse(file, LMF_ERR_ABI, named + ": destroy is NULL");
  if (c->vtable == nullptr) refuse(file, LMF_ERR_ABI, named + ": vtable is NULL");
  const auto* vtable_bytes = static_cast<const unsigned char*>(c->vtable);
  uint32_t vtable_size = *static_cast<const uint32_t*>(c->vtable);
  if (vtable_size < kind->min_vtable_size)
    refuse(file, LMF_ERR_ABI,
           named + ": vtable is too small (struct_size " + std::to_string(vtable_size) +
               ", ABI 1.0 needs " + std::to_string(kind->min_vtable_size) + ")");
  for (const RequiredSlot& slot : kind->required_slots) {
    void* function = nullptr;
    std::memcpy(&function, vtable_bytes + slot.offset, sizeof(function));
    if (function == nullptr)
      refuse(file, LMF_ERR_ABI, named + ": required vtable slot '" + slot.name + "' is NULL");
  }
  if (c->config_schema == nullptr) refuse(file, LMF_ERR_ABI, named + ": config_schema is NULL");
  nlohmann::json schema = nlohmann::json::parse(c->config_schema, nullptr, false);
  if (schema.is_discarded()) refuse(file, LMF_ERR_ABI, named + ": config_schema is not valid JSON");
  std::vector<std::string> problems = config::check_schema(schema);
  if (!problems.empty()) refuse(file, LMF_ERR_ABI, named + ": config_schema: " + problems.front());
  return kind;
}

}  // namespace

PluginRegistry::PluginRegistry(HostServices& services) : services_(services) {}

PluginRegistry::~PluginRegistry() {
  // Instances may outlive the registry (Note [Unload order]); their plugins must not reach
  // back into it.
  for (const auto& plugin : plugins_) plugin->host()->registry = nullptr;
}

std::vector<LoadFailure> PluginRegistry::load_directories(const std::vector<fs::path>& folders) {
  std::vector<LoadFailure> refused;
  for (const fs::path& folder : folders) {
    std::error_code error;
    if (!fs::is_directory(folder, error)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder, error))
      if (entry.path().extension() == ".so") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      try {
        load_file(file);
      } catch (const PluginShadowed& e) {
        services_.log(LMF_LOG_INFO, "host", std::string("skipped: ") + e.what());
      } catch (const PluginError& e) {
        refused.push_back({file, e.what()});
      }
    }
  }
  return refused;
}

// Note [Lookups while loading]
// A plugin's entry point and init run inside load_file, which holds mutex_ exclusively. When
// they look up a component (the host API's find_component) on that thread, taking the lock
// again would deadlock: std::shared_mutex is not recursive (glibc fails with EDEADLK,
// "Resource deadlock avoided"). That thread already has exclusive access, so its lookups
// skip the lock.
std::shared_lock<std::shared_mutex> PluginRegistry::read_lock() const {
  if (loading_thread_.load() == std::this_thread::get_id()) return {};
  return std::shared_lock(mutex_);
}

std::shared_ptr<LoadedPlugin> PluginRegistry::load_file(const fs::path& file) {
  std::unique_lock lock(mutex_);
  loading_thread_ = std::this_thread::get_id();
  struct ClearLoadingThread {
    std::atomic<std::thread::id>& id;
    ~ClearLoadingThread() { id = std::thread::id(); }
  } clear_loading_thread{loading_thread_};  // runs before the lock is released
  try {
    return load_file_locked(file);
  } catch (const PluginShadowed&) {
    throw;  // not a failure: the first plugin of that name stays (Note [Plugin search path])
  } catch (const PluginError& e) {
    failures_.push_back({file, e.what()});
    throw;
  }
}

std::shared_ptr<LoadedPlugin> PluginRegistry::load_file_locked(const fs::path& file) {
  std::error_code error;
  if (!fs::exists(file, error)) refuse(file, LMF_ERR_NOT_FOUND, "file not found");
  if (!fs::is_regular_file(file, error))
    refuse(file, LMF_ERR_INVALID_ARGUMENT, "not a regular file");
  const fs::path canonical = fs::canonical(file, error);
  for (const auto& plugin : plugins_)
    if (fs::equivalent(plugin->file(), canonical, error)) return plugin;

  boost::dll::shared_library library;
  try {
    library.load(canonical, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    refuse(file, LMF_ERR_IO, "cannot be loaded: " + dlopen_message(e));
  }
  if (!library.has(LMF_PLUGIN_ENTRY_SYMBOL))
    refuse(file, LMF_ERR_ABI,
           "has no entry symbol '" LMF_PLUGIN_ENTRY_SYMBOL "' (is it an lmforge plugin?)");

  auto host = std::make_unique<lmf_host>();
  host->services = &services_;
  host->registry = this;
  host->source = file.filename().string();
  const lmf_plugin* descriptor = nullptr;
  try {
    auto entry = library.get<std::remove_pointer_t<lmf_plugin_entry_fn>>(LMF_PLUGIN_ENTRY_SYMBOL);
    descriptor = entry(host_api(), host.get());
  } catch (const std::exception& e) {
    refuse(file, LMF_ERR_INTERNAL, std::string("entry point threw an exception: ") + e.what());
  } catch (...) {
    refuse(file, LMF_ERR_INTERNAL, "entry point threw an exception of unknown type");
  }
  if (descriptor == nullptr)
    refuse(file, LMF_ERR_ABI,
           "entry point returned NULL (the plugin refused this host, ABI " +
               version_text(LMF_ABI_MAJOR, LMF_ABI_MINOR) + "; see its messages above)");
  validate_descriptor(file, descriptor);
  for (const auto& plugin : plugins_)
    if (plugin->name() == descriptor->name)
      throw PluginShadowed(file.string() + ": plugin \"" + descriptor->name +
                           "\" is already loaded from " + plugin->file().string() +
                           ", which comes first in the search path");

  std::vector<std::pair<const lmf_component*, const KindInfo*>> accepted;
  for (size_t i = 0; i < descriptor->component_count; ++i) {
    const lmf_component* component = descriptor->components[i];
    const KindInfo* kind = validate_component(file, component, i);
    if (kind == nullptr) {
      services_.log(LMF_LOG_WARNING, "host",
                    file.string() + ": skipping component \"" + component->name +
                        "\" of unknown kind " + std::to_string(component->kind) +
                        " (made for a newer host)");
      continue;
    }
    for (const auto& [other, other_kind] : accepted)
      if (other->kind == component->kind && std::string_view(other->name) == component->name)
        refuse(file, LMF_ERR_ABI,
               std::string("declares ") + kind->name + " \"" + component->name + "\" twice");
    for (const ComponentRef& existing : components_)
      if (existing.component->kind == component->kind && existing.name() == component->name)
        refuse(file, LMF_ERR_ABI,
               std::string(kind->name) + " \"" + component->name + "\" is already provided by " +
                   existing.plugin->file().string() + " (plugin \"" + existing.plugin->name() +
                   "\"); component names must be unique per kind");
    accepted.emplace_back(component, kind);
  }

  host->source = descriptor->name;
  if (LMF_HAS_MEMBER(descriptor, lmf_plugin, init) && descriptor->init != nullptr) {
    lmf_status_t* status = nullptr;
    try {
      status = descriptor->init(host.get());
    } catch (const std::exception& e) {
      refuse(file, LMF_ERR_INTERNAL, std::string("init threw an exception: ") + e.what());
    } catch (...) {
      refuse(file, LMF_ERR_INTERNAL, "init threw an exception of unknown type");
    }
    try {
      check_status(status, "init failed");
    } catch (const PluginError& e) {
      refuse(file, e.code(), e.what());
    }
  }

  auto plugin =
      std::make_shared<LoadedPlugin>(canonical, std::move(library), std::move(host), descriptor);
  plugins_.push_back(plugin);
  for (const auto& [component, kind] : accepted) components_.push_back({plugin, component, kind});
  std::sort(components_.begin(), components_.end(),
            [](const ComponentRef& a, const ComponentRef& b) {
              if (a.component->kind != b.component->kind)
                return a.component->kind < b.component->kind;
              return std::string_view(a.component->name) < std::string_view(b.component->name);
            });
  return plugin;
}

std::vector<std::shared_ptr<LoadedPlugin>> PluginRegistry::plugins() const {
  auto lock = read_lock();
  return plugins_;
}

std::vector<LoadFailure> PluginRegistry::failures() const {
  auto lock = read_lock();
  return failures_;
}

std::shared_ptr<LoadedPlugin> PluginRegistry::find_plugin(std::string_view name) const {
  auto lock = read_lock();
  for (const auto& plugin : plugins_)
    if (plugin->name() == name) return plugin;
  return nullptr;
}

std::vector<ComponentRef> PluginRegistry::components() const {
  auto lock = read_lock();
  return components_;
}

std::vector<ComponentRef> PluginRegistry::components_of(const LoadedPlugin& plugin) const {
  auto lock = read_lock();
  std::vector<ComponentRef> found;
  for (const ComponentRef& ref : components_)
    if (ref.plugin.get() == &plugin) found.push_back(ref);
  return found;
}

std::optional<ComponentRef> PluginRegistry::find(lmf_kind kind, std::string_view name) const {
  auto lock = read_lock();
  for (const ComponentRef& ref : components_)
    if (ref.component->kind == kind && ref.name() == name) return ref;
  return std::nullopt;
}

ComponentRef PluginRegistry::require(lmf_kind kind, std::string_view name) const {
  if (std::optional<ComponentRef> found = find(kind, name)) return *found;
  std::string known;
  for (const ComponentRef& ref : components())
    if (ref.component->kind == kind) known += (known.empty() ? "" : ", ") + ref.name();
  throw PluginError(LMF_ERR_NOT_FOUND,
                    std::string("no ") + kind_name(kind) + " named \"" + std::string(name) +
                        "\" is loaded (" +
                        (known.empty() ? "none of that kind is" : "loaded: " + known) + ")");
}

}  // namespace lmf::plugin
