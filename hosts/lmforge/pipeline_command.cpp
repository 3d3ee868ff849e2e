#include "hosts/lmforge/pipeline_command.h"

#include "hosts/lmforge/exit_codes.h"

#include "core/config/compose.h"
#include "core/pipeline/runner.h"
#include "core/services/cancellation.h"

#include <iomanip>
#include <iostream>

namespace lmf::cli {

po::options_description pipeline_options(PipelineOptions& options) {
  po::options_description description = common_options(options.common);
  description.add_options()("file", po::value(&options.file)->required(),
                            "the pipeline file (JSON)")(
      "set", po::value(&options.overrides)->composing(),
      "override a field: --set stages.1.config.bits=4 (value parsed as JSON, else a string)");
  return description;
}

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

Prepared prepare_inline(const CommonOptions& common, nlohmann::json document, const std::string& origin) {
  config::ComposedConfig composed;
  composed.document = std::move(document);
  composed.record_origin("", origin);
  Prepared prepared;
  prepared.session = open_session(common, pipeline::configured_plugin_paths(composed));
  prepared.pipeline = pipeline::prepare_pipeline(std::move(composed), prepared.session->registry());
  return prepared;
}

namespace {

// A stage's own table when it has one; else its JSON, cut short (summary.json has it all).
void print_summary(const nlohmann::json& summary) {
  if (summary.contains("table") && summary["table"].is_string()) {
    std::string table = summary["table"].get<std::string>();
    for (size_t start = 0; start < table.size();) {
      size_t end = table.find('\n', start);
      if (end == std::string::npos) end = table.size();
      std::cout << "    " << table.substr(start, end - start) << "\n";
      start = end + 1;
    }
    return;
  }
  constexpr size_t kMaxWidth = 400;
  std::string text = summary.dump();
  if (text.size() > kMaxWidth) text = text.substr(0, kMaxWidth) + " ...";
  std::cout << "    " << text << "\n";
}

}  // namespace

int run_and_report(Prepared& prepared) {
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
    if (stage.status == "completed" && !stage.summary.empty()) print_summary(stage.summary);
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

}  // namespace lmf::cli
