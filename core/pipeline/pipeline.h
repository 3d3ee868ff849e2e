// A pipeline: the composed configuration checked from end to end, before any work starts.
//
// Note [Pipeline file]
//   {
//     "include": "base.json",                 // optional, see core/config/compose.h
//     "plugin_paths": ["plugins"],            // optional, relative to the file naming them
//     "run": {"name": "quickstart", "output_dir": "runs/quickstart"},
//     "stages": [
//       {"name": "plugins", "builtin": "plugins.check", "params": {"require": [...]}},
//       {"name": "demo", "kind": "quantizer", "component": "int8_rtn",
//        "config": {...},                     // validated against the component's schema
//        "params": {...}}                     // what this stage does, read by the component
//     ]
//   }
#pragma once

#include "core/config/compose.h"
#include "core/plugin/registry.h"
#include "core/services/training_alarms.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace lmf::pipeline {

// One problem with the configuration, located for the user.
struct ConfigIssue {
  std::string file;     // the file (or --set) that supplied the value
  std::string pointer;  // RFC 6901 pointer into the composed document
  std::string message;
  bool missing_component = false;  // names a component no loaded plugin provides
};

// Every problem found in a pipeline, not only the first; what() has one per line.
class PipelineInvalid : public std::runtime_error {
 public:
  explicit PipelineInvalid(std::vector<ConfigIssue> issues);
  const std::vector<ConfigIssue>& issues() const { return issues_; }
  // Whether a plugin, rather than the file, is what is missing (CLI exit code 4).
  bool names_missing_component() const;

 private:
  std::vector<ConfigIssue> issues_;
};

struct Stage {
  std::string name;
  std::string pointer;  // "/stages/1"
  std::string builtin;  // a host action, or empty for a component stage
  std::optional<plugin::ComponentRef> component;
  nlohmann::json config;  // validated, defaults filled
  nlohmann::json spec;    // the stage's object as written (with the validated config)
};

struct RunSettings {
  std::string name = "pipeline";
  std::optional<std::filesystem::path> output_dir;  // absolute, or relative to the cwd
  std::optional<services::AlarmTable> alarms;       // run.alarms: the seed's table with overrides
};

struct Pipeline {
  config::ComposedConfig config;
  RunSettings run;
  std::vector<Stage> stages;
};

// The host's own schema for pipeline files (Note [Pipeline file]).
const nlohmann::json& pipeline_schema();

// The plugin folders the configuration names, resolved against the file naming them.
std::vector<std::filesystem::path> configured_plugin_paths(const config::ComposedConfig& config);

// Checks the pipeline against the host's schema, finds every stage's component and
// validates its config against the component's schema. Throws PipelineInvalid with all
// issues found.
Pipeline prepare_pipeline(config::ComposedConfig config, const plugin::PluginRegistry& registry);

}  // namespace lmf::pipeline
