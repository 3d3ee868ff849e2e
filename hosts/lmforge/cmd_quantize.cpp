// lmforge quantize CONFIG: a quantization run as a one-stage pipeline of the builtin stage
// model.quantize (core/model/quantize_stage.h). CONFIG holds that stage's params.
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"
#include "hosts/lmforge/pipeline_command.h"

#include "core/config/compose.h"

namespace lmf::cli {

int quantize(const Args& args) {
  CommonOptions common;
  std::string file, model, output, run_dir;
  std::vector<std::string> overrides;
  po::options_description description = common_options(common);
  description.add_options()("config", po::value(&file)->required(), "the quantization config (JSON)")(
      "model", po::value(&model), "the model folder to quantize (overrides the config's \"model\")")(
      "output", po::value(&output), "the quantized model's folder (overrides the config's \"output\")")(
      "set", po::value(&overrides)->composing(),
      "override a field: --set quantizer.config.bits=3 (value parsed as JSON, else a string)")(
      "run-dir", po::value(&run_dir), "also write summary.json and metrics.jsonl here");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables,
                     "lmforge quantize CONFIG [--model DIR] [--output DIR] [--set KEY=VALUE]... [options]\n\n"
                     "Quantizes a model as CONFIG describes: {\"model\": DIR, \"quantizer\": {\"component\": \"gptq\",\n"
                     "\"config\": {\"bits\": 4, \"group_size\": 128}}, \"calibration\": {\"shards\": DIR, \"samples\": 128},\n"
                     "\"output\": DIR} (docs/quantization.md). The output loads like any model folder."))
    return kExitOk;

  config::ComposedConfig params = config::load_config(file);
  for (const std::string& assignment : overrides) config::apply_override(params, assignment);
  if (!model.empty()) params.document["model"] = model;
  if (!output.empty()) params.document["output"] = output;
  nlohmann::json run = {{"name", "quantize"}};
  if (!run_dir.empty()) run["output_dir"] = run_dir;
  nlohmann::json document = {
      {"run", run}, {"stages", {{{"name", "quantize"}, {"builtin", "model.quantize"}, {"params", params.document}}}}};
  Prepared prepared = prepare_inline(common, std::move(document), file);
  return run_and_report(prepared);
}

}  // namespace lmf::cli
