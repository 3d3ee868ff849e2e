#include "core/pipeline/pipeline.h"

#include "core/services/training_alarms.h"

#include "core/config/schema.h"
#include "core/pipeline/builtin_stages.h"

namespace lmf::pipeline {
namespace fs = std::filesystem;
namespace {

std::string join_issues(const std::vector<ConfigIssue>& issues) {
  std::string text;
  for (const ConfigIssue& issue : issues) {
    if (!text.empty()) text += "\n";
    text += issue.file.empty() ? "" : issue.file + ": ";
    text += issue.pointer.empty() ? "" : issue.pointer + ": ";
    text += issue.message;
  }
  return text;
}

nlohmann::json make_pipeline_schema() {
  nlohmann::json kinds = nlohmann::json::array();
  for (const plugin::KindInfo& kind : plugin::all_kinds()) kinds.push_back(kind.name);
  nlohmann::json builtins = nlohmann::json::array();
  for (const std::string& name : builtin_stage_names()) builtins.push_back(name);
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"plugin_paths", {{"type", "array"}, {"items", {{"type", "string"}, {"minLength", 1}}}}},
        {"run",
         {{"type", "object"},
          {"additionalProperties", false},
          {"properties",
           {{"name", {{"type", "string"}, {"minLength", 1}, {"default", "pipeline"}}},
            {"output_dir", {{"type", "string"}, {"minLength", 1}}},
            {"log_level", {{"enum", {"debug", "info", "warning", "error"}}}},
            {"alarms", services::alarm_table_schema()}}},
          {"default", nlohmann::json::object()}}},
        {"stages",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"additionalProperties", false},
            {"required", {"name"}},
            {"properties",
             {{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9_.-]+$"}}},
              {"description", {{"type", "string"}}},
              {"builtin", {{"enum", builtins}}},
              {"kind", {{"enum", kinds}}},
              {"component", {{"type", "string"}, {"minLength", 1}}},
              {"config", {{"type", "object"}}},
              {"params", {{"type", "object"}, {"default", nlohmann::json::object()}}}}}}}}}}},
      {"required", {"stages"}},
  };
}

}  // namespace

PipelineInvalid::PipelineInvalid(std::vector<ConfigIssue> issues)
    : std::runtime_error(join_issues(issues)), issues_(std::move(issues)) {}

bool PipelineInvalid::names_missing_component() const {
  for (const ConfigIssue& issue : issues_)
    if (issue.missing_component) return true;
  return false;
}

const nlohmann::json& pipeline_schema() {
  static const nlohmann::json schema = make_pipeline_schema();
  return schema;
}

std::vector<fs::path> configured_plugin_paths(const config::ComposedConfig& config) {
  std::vector<fs::path> folders;
  const nlohmann::json& doc = config.document;
  if (!doc.is_object() || !doc.contains("plugin_paths") || !doc["plugin_paths"].is_array())
    return folders;
  for (size_t i = 0; i < doc["plugin_paths"].size(); ++i) {
    const nlohmann::json& entry = doc["plugin_paths"][i];
    if (!entry.is_string()) continue;
    fs::path folder = entry.get<std::string>();
    if (folder.is_relative()) {
      // Relative to the file that named it, like include.
      std::string origin = config.file_of("/plugin_paths/" + std::to_string(i));
      if (origin.rfind("--set", 0) != 0) folder = fs::path(origin).parent_path() / folder;
    }
    folders.push_back(folder.lexically_normal());
  }
  return folders;
}

Pipeline prepare_pipeline(config::ComposedConfig composed, const plugin::PluginRegistry& registry) {
  std::vector<ConfigIssue> issues;
  auto add_issue = [&](const std::string& pointer, const std::string& message) {
    issues.push_back({composed.file_of(pointer), pointer, message});
  };

  for (const config::ValidationIssue& issue :
       config::validate(pipeline_schema(), composed.document))
    add_issue(issue.pointer, issue.message);
  if (!issues.empty()) throw PipelineInvalid(std::move(issues));

  Pipeline pipeline;
  const nlohmann::json& run = composed.document["run"];
  pipeline.run.name = run.value("name", "pipeline");
  if (run.contains("output_dir")) pipeline.run.output_dir = run["output_dir"].get<std::string>();
  if (run.contains("alarms")) {
    try {
      pipeline.run.alarms = services::alarm_table_with_overrides(run["alarms"], "/run/alarms");
    } catch (const std::exception& e) {
      add_issue("/run/alarms", e.what());
      throw PipelineInvalid(std::move(issues));
    }
  }

  nlohmann::json& stages = composed.document["stages"];
  for (size_t i = 0; i < stages.size(); ++i) {
    nlohmann::json& spec = stages[i];
    Stage stage;
    stage.pointer = "/stages/" + std::to_string(i);
    stage.name = spec["name"].get<std::string>();
    for (const Stage& earlier : pipeline.stages)
      if (earlier.name == stage.name)
        add_issue(stage.pointer + "/name", "stage name \"" + stage.name + "\" is used twice");

    const bool has_builtin = spec.contains("builtin");
    const bool has_component = spec.contains("component");
    if (has_builtin == has_component) {
      add_issue(stage.pointer, "a stage names either \"builtin\" or \"kind\" and \"component\"");
      continue;
    }
    if (has_builtin) {
      stage.builtin = spec["builtin"].get<std::string>();
      if (spec.contains("kind") || spec.contains("config"))
        add_issue(stage.pointer, "a builtin stage takes \"params\", not \"kind\" or \"config\"");
      const size_t before = issues.size();
      for (const config::ValidationIssue& issue : config::validate(
               builtin_stage_schema(stage.builtin), spec["params"], stage.pointer + "/params"))
        add_issue(issue.pointer, issue.message);
      if (issues.size() == before)
        for (const BuiltinIssue& issue :
             validate_builtin_stage(stage.builtin, spec["params"], stage.pointer + "/params", registry)) {
          add_issue(issue.pointer, issue.message);
          issues.back().missing_component = issue.missing_component;
        }
    } else {
      if (!spec.contains("kind")) {
        add_issue(stage.pointer, "a component stage needs \"kind\" (e.g. \"quantizer\")");
        continue;
      }
      lmf_kind kind = *plugin::kind_from_name(spec["kind"].get<std::string>());
      std::string name = spec["component"].get<std::string>();
      try {
        stage.component = registry.require(kind, name);
      } catch (const std::exception& e) {
        add_issue(stage.pointer + "/component", e.what());
        issues.back().missing_component = true;
        continue;
      }
      if (!spec.contains("config")) spec["config"] = nlohmann::json::object();
      nlohmann::json schema = nlohmann::json::parse(stage.component->schema());
      for (const config::ValidationIssue& issue :
           config::validate(schema, spec["config"], stage.pointer + "/config"))
        add_issue(issue.pointer, issue.message);
      stage.config = spec["config"];
      const lmf_component* component = stage.component->component;
      if (!(LMF_HAS_MEMBER(component, lmf_component, run_stage) && component->run_stage != nullptr))
        add_issue(stage.pointer + "/component",
                  std::string(stage.component->kind->name) + " \"" + name +
                      "\" cannot run as a pipeline stage (it has no run_stage)");
    }
    stage.spec = spec;
    pipeline.stages.push_back(std::move(stage));
  }
  if (!issues.empty()) throw PipelineInvalid(std::move(issues));
  pipeline.config = std::move(composed);
  return pipeline;
}

}  // namespace lmf::pipeline
