// lmforge generate / eval: a model folder through a backend component, as one-stage
// pipelines of the builtin stages model.generate and model.evaluate (core/model/).
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"
#include "hosts/lmforge/pipeline_command.h"

#include <iostream>
#include <optional>

namespace lmf::cli {
namespace {

using nlohmann::json;

// What both commands take: the model, the backend and where it runs.
struct ModelOptions {
  CommonOptions common;
  std::string model;
  std::string backend = "torch";
  std::string device = "auto";
  std::string dtype = "auto";
  std::string run_dir;
};

po::options_description model_options(ModelOptions& options) {
  po::options_description description = common_options(options.common);
  description.add_options()("model", po::value(&options.model)->required(), "a Hugging Face model folder")(
      "backend", po::value(&options.backend)->default_value("torch"), "the backend component")(
      "device", po::value(&options.device)->default_value("auto"), "auto, cpu, cuda or cuda:N")(
      "dtype", po::value(&options.dtype)->default_value("auto"), "auto, float32, bfloat16 or float16")(
      "run-dir", po::value(&options.run_dir), "write summary.json and metrics.jsonl into this folder");
  return description;
}

json model_params(const ModelOptions& options) {
  return {{"backend", {{"component", options.backend}, {"config", json::object()}}},
          {"model", options.model},
          {"load", {{"device", options.device}, {"dtype", options.dtype}}}};
}

int run_one_stage(const ModelOptions& options, const std::string& name, const std::string& builtin,
                  json params) {
  json run = {{"name", name}};
  if (!options.run_dir.empty()) run["output_dir"] = options.run_dir;
  json document = {{"run", run}, {"stages", {{{"name", name}, {"builtin", builtin}, {"params", std::move(params)}}}}};
  Prepared prepared = prepare_inline(options.common, std::move(document), "the lmforge " + name + " command line");
  return run_and_report(prepared);
}

template <class T>
void put_if(json& object, const char* key, const po::variables_map& variables, const char* option) {
  if (variables.count(option)) object[key] = variables[option].as<T>();
}

}  // namespace

int generate(const Args& args) {
  ModelOptions options;
  std::vector<std::string> prompts, stops;
  std::string prompts_file, output;
  po::options_description description = model_options(options);
  description.add_options()("prompt,p", po::value(&prompts)->composing(), "a prompt (repeat for a batch)")(
      "prompts-file", po::value(&prompts_file), "a JSON Lines file with a \"prompt\" per line")(
      "max-new-tokens,n", po::value<int64_t>(), "tokens to generate at most (default: generation_config.json, else 256)")(
      "temperature,t", po::value<double>(), "sampling temperature; 0 is greedy (default: greedy unless generation_config.json samples)")(
      "top-k", po::value<int64_t>(), "keep the k most likely tokens (0: off)")(
      "top-p", po::value<double>(), "keep the smallest set of tokens whose probability reaches p")(
      "min-p", po::value<double>(), "drop tokens below min-p times the most likely one's probability")(
      "repetition-penalty", po::value<double>(), "penalise tokens already seen (1: off)")(
      "stop", po::value(&stops)->composing(), "a stop string (repeat for more)")(
      "seed", po::value<uint64_t>(), "seed of the sampler, for reproducible samples")(
      "output,o", po::value(&output), "write the completions as JSON Lines");
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables,
                     "lmforge generate MODEL -p PROMPT [-p PROMPT]... [options]\n\n"
                     "Generates continuations of the prompts with the model in the folder MODEL (Hugging Face\n"
                     "layout). One prompt streams its text as it is generated; several are batched."))
    return kExitOk;
  json sampling = json::object();
  put_if<int64_t>(sampling, "max_new_tokens", variables, "max-new-tokens");
  put_if<double>(sampling, "temperature", variables, "temperature");
  put_if<int64_t>(sampling, "top_k", variables, "top-k");
  put_if<double>(sampling, "top_p", variables, "top-p");
  put_if<double>(sampling, "min_p", variables, "min-p");
  put_if<double>(sampling, "repetition_penalty", variables, "repetition-penalty");
  put_if<uint64_t>(sampling, "seed", variables, "seed");
  if (!stops.empty()) sampling["stop"] = stops;
  json params = model_params(options);
  params["prompts"] = prompts;
  params["sampling"] = sampling;
  params["stream"] = prompts.size() == 1 && prompts_file.empty();
  if (!prompts_file.empty()) params["prompts_file"] = prompts_file;
  if (!output.empty()) params["output"] = output;
  return run_one_stage(options, "generate", "model.generate", params);
}

int eval(const Args& args) {
  ModelOptions options;
  std::string shards, split = "validation", jsonl, field = "text", text;
  po::options_description description = model_options(options);
  description.add_options()("shards", po::value(&shards), "a folder of token shards (lmforge data prepare)")(
      "split", po::value(&split)->default_value("validation"), "the shards' split: train or validation")(
      "jsonl", po::value(&jsonl), "a JSON Lines file of texts")(
      "field", po::value(&field)->default_value("text"), "the text field of --jsonl")(
      "text", po::value(&text), "a text given on the command line")(
      "max-length", po::value<int64_t>(), "tokens per window (default: min(context, 2048))")(
      "stride", po::value<int64_t>(), "tokens between window starts (default: max-length / 2)")(
      "max-documents", po::value<int64_t>(), "evaluate the first N documents only");
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map variables;
  if (!parse_command(args, description, positional, variables,
                     "lmforge eval MODEL (--shards DIR | --jsonl FILE | --text TEXT) [options]\n\n"
                     "Perplexity of the model in the folder MODEL with a sliding window (docs/backend.md).\n"
                     "Scoring candidates (classification) is the model.evaluate stage's \"score\" task."))
    return kExitOk;
  json request = {{"task", "perplexity"}};
  const int sources = !shards.empty() + !jsonl.empty() + !text.empty();
  if (sources != 1) {
    std::cerr << "lmforge eval: give exactly one of --shards, --jsonl, --text\n";
    return kExitUsage;
  }
  if (!shards.empty()) request["shards"] = shards, request["split"] = split;
  if (!jsonl.empty()) request["jsonl"] = jsonl, request["field"] = field;
  if (!text.empty()) request["text"] = text;
  put_if<int64_t>(request, "max_length", variables, "max-length");
  put_if<int64_t>(request, "stride", variables, "stride");
  put_if<int64_t>(request, "max_documents", variables, "max-documents");
  json params = model_params(options);
  params["request"] = request;
  return run_one_stage(options, "eval", "model.evaluate", params);
}

}  // namespace lmf::cli
