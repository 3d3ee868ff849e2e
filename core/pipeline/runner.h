// Runs a prepared pipeline's stages in order, with progress, metrics and cancellation.
#pragma once

#include "core/pipeline/pipeline.h"
#include "core/pipeline/run_services.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lmf::pipeline {

enum class RunOutcome { completed, failed, cancelled };

struct StageResult {
  std::string name;
  std::string status;  // "completed", "failed", "cancelled" or "skipped"
  double seconds = 0;
  nlohmann::json summary = nlohmann::json::object();
  std::string error;
};

struct RunResult {
  RunOutcome outcome = RunOutcome::completed;
  std::vector<StageResult> stages;
  // <output_dir>/summary.json and metrics.jsonl, when the run has an output folder.
  std::optional<std::filesystem::path> summary_file;
  std::optional<std::filesystem::path> metrics_file;

  nlohmann::json to_json() const;
};

// Runs every stage in order; stops at the first failure or once cancellation is requested
// (between stages: a stage itself polls the host's is_cancelled). Never throws for a stage's
// failure: the result says what happened.
RunResult run_pipeline(const Pipeline& pipeline, const plugin::PluginRegistry& registry,
                       RunServices& services);

}  // namespace lmf::pipeline
