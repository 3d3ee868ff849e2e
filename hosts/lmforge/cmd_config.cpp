// lmforge config check / run / version.
#include "hosts/lmforge/cli_common.h"
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"

#include "core/config/compose.h"
#include "core/pipeline/pipeline.h"
#include "core/pipeline/runner.h"
#include "core/services/cancellation.h"

#include <iomanip>
#include <iostream>

namespace lmf::cli {
namespace {

struct PipelineOptions {
  CommonOptions common;
  std::string file;
  std::vector<std::string> overrides;
};

po::options_description pipeline_options(PipelineOptions& options) {
  po::options_description description = common_options(options.common);
  description.add_options()("file", po::value(&options.file)->required(),
                            "the pipeline file (JSON)")(
      "set", po::value(&options.overrides)->composing(),
      "override a field: --set stages.1.config.bits=4 (value parsed as JSON, else a string)");
  return description;
}

struct Prepared {
  std::unique_ptr<pipeline::HostSession> session;
  pipeline::Pipeline pipeline;
};

// Compose, override, load the plugins the file names, and validate everything.
Prepared prepare(const PipelineOptions& options) {
  config::ComposedConfig composed = config::load_config(options.file);
  for (const std::string& assignment : options.overrides)
    config::apply_override(composed, assignment);
  CommonOptions common = options.common;
  const nlohmann::json run = composed.document.is_object()
                                 ? composed.document.value("run", nlohmann::json::object())
                                 : nlohmann::json::object();
  if (common.log_level.empty() && run.is_object() && run.contains("log_level") &&
      run["log_level"].is_string())
    common.log_level = run["log_level"].get<std::string>();
  Prepared prepared;
  prepared.session = open_session(common, pipeline::configured_plugin_paths(composed));
  prepared.pipeline = pipeline::prepare_pipeline(std::move(composed), prepared.session->registry());
  return prepared;
}

}  // namespace

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

int run(const Args& args) {
  PipelineOptions options;
  po::options_description description = pipeline_options(options);
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables, "lmforge run FILE [--set K=V]..."))
    return kExitOk;
  Prepared prepared = prepare(options);

  services::Cancellation& cancellation = services::Cancellation::process();
  cancellation.install_signal_handlers();
  pipeline::RunResult result = pipeline::run_pipeline(
      prepared.pipeline, prepared.session->registry(), prepared.session->services());
  cancellation.restore_signal_handlers();

  std::cout << "\nRun \"" << prepared.pipeline.run.name << "\":\n";
  for (const pipeline::StageResult& stage : result.stages) {
    std::cout << "  " << std::left << std::setw(24) << stage.name << std::setw(10) << stage.status
              << std::fixed << std::setprecision(2) << stage.seconds << " s";
    if (!stage.error.empty()) std::cout << "  " << stage.error;
    std::cout << "\n";
    if (stage.status == "completed" && !stage.summary.empty())
      std::cout << "    " << stage.summary.dump() << "\n";
  }
  if (result.summary_file) std::cout << "Summary: " << result.summary_file->string() << "\n";
  if (result.metrics_file) std::cout << "Metrics: " << result.metrics_file->string() << "\n";
  switch (result.outcome) {
    case pipeline::RunOutcome::completed:
      return kExitOk;
    case pipeline::RunOutcome::cancelled:
      return kExitCancelled;
    case pipeline::RunOutcome::failed:
      return kExitFailed;
  }
  return kExitFailed;
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
