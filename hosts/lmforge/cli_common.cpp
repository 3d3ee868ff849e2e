#include "hosts/lmforge/cli_common.h"

#include "core/services/log.h"
#include "core/services/progress.h"

#include <iostream>

namespace lmf::cli {

po::options_description common_options(CommonOptions& options) {
  po::options_description common("Options");
  common.add_options()("help,h", "show this help")(
      "plugin-path", po::value(&options.plugin_paths)->composing(),
      "also load plugins from this folder (repeatable; before LMFORGE_PLUGIN_PATH)")(
      "log-level", po::value(&options.log_level),
      "debug, info, warning or error (default: the pipeline's run.log_level, else info)");
  return common;
}

bool parse_command(const std::vector<std::string>& args, const po::options_description& visible,
                   const po::positional_options_description& positional,
                   po::variables_map& variables, const std::string& usage) {
  po::store(po::command_line_parser(args).options(visible).positional(positional).run(), variables);
  if (variables.count("help")) {
    std::cout << "Usage: " << usage << "\n\n" << visible << "\n";
    return false;
  }
  po::notify(variables);
  return true;
}

std::unique_ptr<pipeline::HostSession> open_session(
    const CommonOptions& options, const std::vector<std::filesystem::path>& config_folders) {
  services::LogLevel level = options.log_level.empty()
                                 ? services::LogLevel::info
                                 : services::parse_log_level(options.log_level);
  auto session =
      std::make_unique<pipeline::HostSession>(std::cerr, services::is_terminal(stderr), level);
  std::vector<std::filesystem::path> folders(options.plugin_paths.begin(),
                                             options.plugin_paths.end());
  folders.insert(folders.end(), config_folders.begin(), config_folders.end());
  session->load_plugins(folders);
  return session;
}

}  // namespace lmf::cli
