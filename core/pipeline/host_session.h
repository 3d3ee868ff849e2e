// Everything one `lmforge` invocation needs: the terminal services, the plugin registry,
// and the services plugins reach. Hosts (the CLI, tests, embedders) make one of these.
#pragma once

#include "core/pipeline/run_services.h"
#include "core/plugin/registry.h"
#include "core/services/log.h"
#include "core/services/progress.h"

#include <filesystem>
#include <iosfwd>
#include <memory>
#include <vector>

namespace lmf::pipeline {

class HostSession {
 public:
  // Logs and progress go to `terminal` (std::cerr in the CLI); progress is drawn in place
  // when `terminal_is_tty`.
  HostSession(std::ostream& terminal, bool terminal_is_tty, services::LogLevel log_level);
  ~HostSession();
  HostSession(const HostSession&) = delete;
  HostSession& operator=(const HostSession&) = delete;

  // Loads the plugins of `extra_folders` (--plugin-path, then the configured plugin_paths),
  // then of the default search path (Note [Plugin search path]); every refusal is logged
  // as a warning and the host goes on. Returns the refusals.
  std::vector<plugin::LoadFailure> load_plugins(
      const std::vector<std::filesystem::path>& extra_folders);

  services::Logger& logger() { return logger_; }
  RunServices& services() { return *services_; }
  plugin::PluginRegistry& registry() { return *registry_; }

 private:
  services::Logger logger_;
  services::ProgressBoard progress_;
  std::unique_ptr<RunServices> services_;
  std::unique_ptr<plugin::PluginRegistry> registry_;
};

}  // namespace lmf::pipeline
