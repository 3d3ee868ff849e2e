// What the commands that take a pipeline file share: its options, composing and validating
// it, and running (some of) its stages.
#pragma once

#include "hosts/lmforge/cli_common.h"

#include "core/pipeline/pipeline.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace lmf::cli {

struct PipelineOptions {
  CommonOptions common;
  std::string file;
  std::vector<std::string> overrides;
};

// The common options plus FILE and --set.
po::options_description pipeline_options(PipelineOptions& options);

struct Prepared {
  std::unique_ptr<pipeline::HostSession> session;
  pipeline::Pipeline pipeline;
};

// Compose, override, load the plugins the file names, and validate everything.
Prepared prepare(const PipelineOptions& options);

// The same for a pipeline made by a command from its options (`lmforge generate`…);
// messages name `origin` as its source.
Prepared prepare_inline(const CommonOptions& common, nlohmann::json document, const std::string& origin);

// Runs the stages (Ctrl-C cancels cleanly), prints a table of what happened, and returns
// the exit code.
int run_and_report(Prepared& prepared);

}  // namespace lmf::cli
