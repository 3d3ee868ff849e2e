#include "core/model/train_stage.h"

#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/status.h"
#include "core/services/training_report.h"

#include <lmf/lmf_backend.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <memory>

namespace lmf::model {
namespace {

using nlohmann::json;

const json kSchema = json::parse(R"JSON({
  "type": "object",
  "additionalProperties": false,
  "required": ["training"],
  "properties": {
    "backend": {
      "type": "object", "additionalProperties": false, "required": ["component"],
      "default": {"component": "torch"},
      "properties": {"component": {"type": "string", "minLength": 1}, "config": {"type": "object"}},
      "description": "the model backend component and its config"
    },
    "model": {"type": "string", "minLength": 1,
              "description": "the Hugging Face model folder to train; leave out when training.init describes a new model"},
    "load": {"type": "object", "default": {}, "description": "load options of the backend (device, ...)"},
    "training": {"type": "object",
                 "description": "the backend's training config: method, objective, data, output, batch, optimizer, schedule, checkpoints (docs/training.md)"},
    "report": {"type": "boolean", "default": true,
               "description": "write report.html (loss curves, summary, alarms) into training.output"}
  }
})JSON");

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string table_of(const json& summary) {
  std::string table = summary.value("method", "") + " " + summary.value("objective", "") + ": " +
                      std::to_string(summary.value("steps", int64_t{0})) + " steps, " +
                      std::to_string(summary.value("trained_tokens", int64_t{0})) + " trained tokens";
  if (summary.contains("first_loss") && summary["first_loss"].is_number() && summary.contains("final_loss") &&
      summary["final_loss"].is_number())
    table += "\nloss " + format("%.4f", summary["first_loss"].get<double>()) + " -> " +
             format("%.4f", summary["final_loss"].get<double>());
  if (summary.contains("eval_loss"))
    table += "; eval loss " + format("%.4f", summary["eval_loss"].get<double>()) + " (perplexity " +
             format("%.2f", summary.value("eval_perplexity", 0.0)) + ")";
  if (summary.contains("tokens_per_second"))
    table += "\n" + format("%.0f", summary["tokens_per_second"].get<double>()) + " tokens/s";
  if (summary.contains("mfu")) table += ", MFU " + format("%.3f", summary["mfu"].get<double>());
  if (summary.contains("peak_memory_gib"))
    table += ", peak memory " + format("%.2f", summary["peak_memory_gib"].get<double>()) + " GiB";
  if (summary.contains("output")) table += "\nwrote " + summary["output"].dump();
  if (summary.contains("report")) table += "\nreport " + summary["report"].get<std::string>();
  return table;
}

// Copies `from` after byte `start` into `to`.
std::string read_from(const std::filesystem::path& file, std::uintmax_t start) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(start));
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The records of an earlier invocation that a resumed run continues: those up to the
// checkpoint's step (a crashed run may have logged steps past it, which are done again).
std::string records_before_resume(const std::filesystem::path& file, int64_t resumed_step) {
  std::ifstream in(file);
  std::string kept, line;
  while (std::getline(in, line)) {
    const json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_object() && record.value("step", int64_t{0}) <= resumed_step) kept += line + "\n";
  }
  return kept;
}

// The training output's metrics.jsonl: this stage's records from the run's metrics file,
// after an earlier invocation's records when the run resumed.
void write_training_metrics(const std::filesystem::path& run_metrics, std::uintmax_t start, const json& summary,
                            const std::filesystem::path& to) {
  std::string text;
  if (summary.contains("resumed_from_step") && std::filesystem::exists(to))
    text = records_before_resume(to, summary["resumed_from_step"].get<int64_t>());
  text += read_from(run_metrics, start);
  const std::filesystem::path temporary = to.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + temporary.string());
  }
  std::filesystem::rename(temporary, to);
}

}  // namespace

const json& train_params_schema() { return kSchema; }

std::vector<plugin::SpecIssue> validate_train_params(json& params, const std::string& pointer,
                                                     const plugin::PluginRegistry& registry) {
  std::vector<plugin::SpecIssue> issues =
      plugin::validate_component_specs(params, pointer, {{"backend", LMF_KIND_BACKEND}}, registry);
  const json& training = params.value("training", json::object());
  if (!params.contains("model") && !(training.is_object() && training.contains("init")))
    issues.push_back({pointer + "/model", "is missing: give a model folder, or training.init for a new model", {}});
  if (training.is_object() && !training.contains("output"))
    issues.push_back({pointer + "/training/output", "is missing: the folder for checkpoints and the trained model", {}});
  return issues;
}

json run_train(const json& params, const plugin::PluginRegistry& registry, pipeline::RunServices& services) {
  const json& spec = params.at("backend");
  plugin::ComponentInstance backend(registry.require(LMF_KIND_BACKEND, spec.at("component").get<std::string>()),
                                    spec.value("config", json::object()));
  const auto& vtable = backend.vtable<lmf_backend_vtable>(LMF_KIND_BACKEND);
  if (vtable.train == nullptr) throw std::runtime_error(backend.label() + ": this backend cannot train");
  if (params.contains("model")) {
    const std::string model = params["model"].get<std::string>();
    const std::string options = params.value("load", json::object()).dump();
    plugin::check_status(vtable.load(backend.get(), {model.data(), model.size()}, {options.data(), options.size()}),
                         backend.label() + ": load " + model);
  }
  // The run's metrics file holds every stage's points: this stage's are those written
  // after its start, copied into the training output beside the report.
  const std::optional<std::filesystem::path> run_metrics = services.metrics().path();
  const std::uintmax_t metrics_start =
      run_metrics && std::filesystem::exists(*run_metrics) ? std::filesystem::file_size(*run_metrics) : 0;

  const std::filesystem::path output = params["training"]["output"].get<std::string>();
  const std::filesystem::path own = output / "metrics.jsonl";
  if (run_metrics && std::filesystem::weakly_canonical(own) == std::filesystem::weakly_canonical(*run_metrics))
    throw std::runtime_error("training.output " + output.string() +
                             " is the run's output_dir: the run's metrics.jsonl and the training's would be one file; "
                             "give the run another output_dir");

  const std::string config = params.at("training").dump();
  lmf_string out{nullptr, 0};
  plugin::check_status(vtable.train(backend.get(), {config.data(), config.size()}, &out), backend.label() + ": train");
  std::unique_ptr<char, void (*)(void*)> owner(out.data, plugin::host_api()->free);
  json summary = json::parse(std::string_view(out.data, out.size));

  if (run_metrics) {
    write_training_metrics(*run_metrics, metrics_start, summary, own);
    summary["metrics"] = own.string();
    if (params.value("report", true)) {
      const std::filesystem::path report = output / "report.html";
      services::write_training_report(own, summary, report);
      summary["report"] = report.string();
    }
  }
  summary["table"] = table_of(summary);
  return summary;
}

}  // namespace lmf::model
