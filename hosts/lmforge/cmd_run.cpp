// lmforge run / data prepare.
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"
#include "hosts/lmforge/pipeline_command.h"

#include <algorithm>
#include <iostream>

namespace lmf::cli {

int run(const Args& args) {
  PipelineOptions options;
  po::options_description description = pipeline_options(options);
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables, "lmforge run FILE [--set K=V]..."))
    return kExitOk;
  Prepared prepared = prepare(options);
  return run_and_report(prepared);
}

int data_prepare(const Args& args) {
  PipelineOptions options;
  po::options_description description = pipeline_options(options);
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables,
                     "lmforge data prepare FILE [--set K=V]...\n\n"
                     "Runs only the \"data.prepare\" stages of the pipeline FILE: sources, "
                     "cleaning and tokenizer\ninto packed token shards (docs/data-format.md). "
                     "Run it again after an interruption to resume."))
    return kExitOk;
  Prepared prepared = prepare(options);
  std::vector<pipeline::Stage>& stages = prepared.pipeline.stages;
  std::erase_if(stages, [](const pipeline::Stage& stage) { return stage.builtin != "data.prepare"; });
  if (stages.empty()) {
    std::cerr << "lmforge: " << options.file << " has no stage with \"builtin\": \"data.prepare\"\n";
    return kExitInvalidConfig;
  }
  return run_and_report(prepared);
}

}  // namespace lmf::cli
