#include "core/pipeline/runner.h"

#include "core/pipeline/builtin_stages.h"
#include "core/plugin/component_instance.h"

#include <chrono>
#include <fstream>

namespace lmf::pipeline {
namespace fs = std::filesystem;
namespace {

const char* outcome_name(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::completed:
      return "completed";
    case RunOutcome::failed:
      return "failed";
    case RunOutcome::cancelled:
      return "cancelled";
  }
  return "unknown";
}

// Written to a temporary name and renamed, so a reader never sees half a summary.
void write_file_atomically(const fs::path& file, const std::string& text) {
  fs::path temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + temporary.string());
  }
  fs::rename(temporary, file);
}

StageResult run_stage(const Stage& stage, const plugin::PluginRegistry& registry,
                      RunServices& services) {
  StageResult result;
  result.name = stage.name;
  const auto start = std::chrono::steady_clock::now();
  try {
    if (!stage.builtin.empty()) {
      result.summary = run_builtin_stage(stage.builtin, stage.spec["params"], registry, services);
    } else {
      plugin::ComponentInstance instance(*stage.component, stage.config);
      result.summary = instance.run_stage(stage.spec);
    }
    result.status = "completed";
  } catch (const plugin::PluginError& e) {
    result.status = e.code() == LMF_ERR_CANCELLED ? "cancelled" : "failed";
    result.error = e.what();
  } catch (const std::exception& e) {
    result.status = "failed";
    result.error = e.what();
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace

nlohmann::json RunResult::to_json() const {
  nlohmann::json stage_list = nlohmann::json::array();
  for (const StageResult& stage : stages) {
    nlohmann::json entry = {{"name", stage.name},
                            {"status", stage.status},
                            {"seconds", stage.seconds},
                            {"summary", stage.summary}};
    if (!stage.error.empty()) entry["error"] = stage.error;
    stage_list.push_back(entry);
  }
  return {{"outcome", outcome_name(outcome)}, {"stages", stage_list}};
}

RunResult run_pipeline(const Pipeline& pipeline, const plugin::PluginRegistry& registry,
                       RunServices& services) {
  RunResult result;
  services.set_config(pipeline.config.document);
  if (pipeline.run.alarms) services.set_alarm_table(*pipeline.run.alarms);
  if (pipeline.run.output_dir) {
    fs::create_directories(*pipeline.run.output_dir);
    result.metrics_file = *pipeline.run.output_dir / "metrics.jsonl";
    services.open_metrics(*result.metrics_file);
  }

  const size_t count = pipeline.stages.size();
  uint64_t progress = services.progress_begin("host", "pipeline " + pipeline.run.name,
                                              static_cast<int64_t>(count), "stages");
  for (size_t i = 0; i < count; ++i) {
    const Stage& stage = pipeline.stages[i];
    if (result.outcome != RunOutcome::completed || services.poll_cancellation()) {
      if (result.outcome == RunOutcome::completed) result.outcome = RunOutcome::cancelled;
      result.stages.push_back({stage.name, "skipped", 0, nlohmann::json::object(), ""});
      continue;
    }
    services.log(
        LMF_LOG_INFO, "host",
        "stage " + std::to_string(i + 1) + "/" + std::to_string(count) + ": " + stage.name);
    services.reset_alarm_states();
    StageResult stage_result = run_stage(stage, registry, services);
    services.metric("host", "stage/" + stage.name + "/seconds", stage_result.seconds,
                    static_cast<int64_t>(i));
    if (stage_result.status == "failed") {
      result.outcome = RunOutcome::failed;
      services.log(LMF_LOG_ERROR, "host", "stage " + stage.name + " failed: " + stage_result.error);
    } else if (stage_result.status == "cancelled") {
      result.outcome = RunOutcome::cancelled;
    }
    result.stages.push_back(std::move(stage_result));
    services.progress_advance(progress, 1);
  }
  services.progress_end(progress);
  if (std::string error = services.metrics().error(); !error.empty())
    services.log(LMF_LOG_WARNING, "host", "some metrics were not written: " + error);

  if (pipeline.run.output_dir) {
    result.summary_file = *pipeline.run.output_dir / "summary.json";
    nlohmann::json summary = result.to_json();
    summary["run"] = pipeline.run.name;
    write_file_atomically(*result.summary_file, summary.dump(2));
  }
  return result;
}

}  // namespace lmf::pipeline
