// lmforge train CONFIG: a training run as a one-stage pipeline of the builtin stage
// model.train (core/model/train_stage.h). CONFIG holds that stage's params.
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"
#include "hosts/lmforge/pipeline_command.h"

#include "core/config/compose.h"

#include <filesystem>

namespace lmf::cli {

int train(const Args& args) {
  CommonOptions common;
  std::string file, model, run_dir;
  std::vector<std::string> overrides;
  po::options_description description = common_options(common);
  description.add_options()("config", po::value(&file)->required(), "the training config (JSON)")(
      "model", po::value(&model), "the model folder to train (overrides the config's \"model\")")(
      "set", po::value(&overrides)->composing(),
      "override a field: --set training.max_steps=100 (value parsed as JSON, else a string)")(
      "run-dir", po::value(&run_dir), "write summary.json, metrics.jsonl and tensorboard/ here (default: training.output/logs)");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables,
                     "lmforge train CONFIG [--model DIR] [--set KEY=VALUE]... [options]\n\n"
                     "Trains a model as CONFIG describes: {\"model\": DIR, \"training\": {\"method\": \"full\"|\"lora\"|\"qlora\",\n"
                     "\"objective\": \"causal_lm\"|\"sft\"|\"dpo\", \"data\": ..., \"output\": DIR, ...}} (docs/training.md).\n"
                     "Runs again on the same output resume from its latest checkpoint."))
    return kExitOk;

  config::ComposedConfig params = config::load_config(file);
  for (const std::string& assignment : overrides) config::apply_override(params, assignment);
  if (!model.empty()) params.document["model"] = model;
  if (run_dir.empty() && params.document.contains("training") && params.document["training"].is_object())
    if (const std::string output = params.document["training"].value("output", std::string()); !output.empty())
      run_dir = (std::filesystem::path(output) / "logs").string();
  nlohmann::json run = {{"name", "train"}};
  if (!run_dir.empty()) run["output_dir"] = run_dir;
  nlohmann::json document = {
      {"run", run}, {"stages", {{{"name", "train"}, {"builtin", "model.train"}, {"params", params.document}}}}};
  Prepared prepared = prepare_inline(common, std::move(document), file);
  return run_and_report(prepared);
}

}  // namespace lmf::cli
