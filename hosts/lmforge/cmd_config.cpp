// lmforge config check / version.
#include "hosts/lmforge/cli_common.h"
#include "hosts/lmforge/pipeline_command.h"
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"

#include "core/pipeline/pipeline.h"

#include <iomanip>
#include <iostream>

namespace lmf::cli {

int config_check(const Args& args) {
  PipelineOptions options;
  bool print = false;
  po::options_description description = pipeline_options(options);
  description.add_options()("print", po::bool_switch(&print),
                            "print the composed configuration, defaults filled in");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables,
                     "lmforge config check FILE [--set K=V]..."))
    return kExitOk;
  Prepared prepared = prepare(options);
  if (print) {
    nlohmann::json document = prepared.pipeline.config.document;
    for (size_t i = 0; i < prepared.pipeline.stages.size(); ++i)
      document["stages"][i] = prepared.pipeline.stages[i].spec;
    std::cout << document.dump(2) << "\n";
  }
  std::cerr << options.file << ": valid (" << prepared.pipeline.stages.size() << " stages:";
  for (const pipeline::Stage& stage : prepared.pipeline.stages) std::cerr << " " << stage.name;
  std::cerr << ")\n";
  return kExitOk;
}

int version(const Args& args) {
  CommonOptions common;
  bool as_json = false;
  po::options_description options = common_options(common);
  options.add_options()("json", po::bool_switch(&as_json), "print JSON for tools");
  po::variables_map variables;
  if (!parse_command(args, options, {}, variables, "lmforge version [--json]")) return kExitOk;
  const std::string abi = std::to_string(LMF_ABI_MAJOR) + "." + std::to_string(LMF_ABI_MINOR);
  if (as_json)
    std::cout << nlohmann::json{{"lmforge", LMF_VERSION}, {"plugin_abi", abi}}.dump() << "\n";
  else
    std::cout << "lmforge " << LMF_VERSION << " (plugin ABI " << abi << ")\n";
  return kExitOk;
}

}  // namespace lmf::cli
