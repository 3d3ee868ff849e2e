#include "core/pipeline/host_session.h"

#include "core/plugin/search_path.h"

namespace lmf::pipeline {
namespace {

services::ProgressOptions progress_options(bool terminal_is_tty) {
  services::ProgressOptions options;
  options.mode =
      terminal_is_tty ? services::default_progress_mode(stderr) : services::ProgressMode::plain;
  options.max_width = terminal_is_tty ? services::terminal_columns(stderr) : 0;
  return options;
}

}  // namespace

HostSession::HostSession(std::ostream& terminal, bool terminal_is_tty, services::LogLevel log_level)
    : logger_(terminal, log_level), progress_(terminal, progress_options(terminal_is_tty)) {
  logger_.set_write_hook(progress_.log_hook());
  services_ = std::make_unique<RunServices>(logger_, progress_, services::Cancellation::process());
  registry_ = std::make_unique<plugin::PluginRegistry>(*services_);
}

HostSession::~HostSession() {
  registry_.reset();  // unloads plugins (instances are gone by now)
  logger_.set_write_hook({});
}

std::vector<plugin::LoadFailure> HostSession::load_plugins(
    const std::vector<std::filesystem::path>& extra_folders) {
  std::vector<plugin::LoadFailure> failures =
      registry_->load_directories(plugin::plugin_search_path(extra_folders));
  for (const plugin::LoadFailure& failure : failures)
    logger_.log(services::LogLevel::warning, "host", "plugin refused: " + failure.message);
  return failures;
}

}  // namespace lmf::pipeline
