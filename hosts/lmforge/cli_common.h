// What every `lmforge` subcommand shares: the common options and the host session.
#pragma once

#include "core/pipeline/host_session.h"

#include <boost/program_options.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace lmf::cli {

namespace po = boost::program_options;

struct CommonOptions {
  std::vector<std::string> plugin_paths;
  std::string log_level;  // empty: the pipeline's run.log_level, else "info"
};

// --plugin-path and --log-level, accepted by every subcommand.
po::options_description common_options(CommonOptions& options);

// Parses `args` (the words after the subcommand) into `variables`; returns false and
// prints usage if --help was asked. Throws po::error on a bad command line.
bool parse_command(const std::vector<std::string>& args, const po::options_description& visible,
                   const po::positional_options_description& positional,
                   po::variables_map& variables, const std::string& usage);

// A session logging to stderr at the chosen level, with plugins loaded from the common
// options' folders plus `config_folders`.
std::unique_ptr<pipeline::HostSession> open_session(
    const CommonOptions& options, const std::vector<std::filesystem::path>& config_folders = {});

}  // namespace lmf::cli
