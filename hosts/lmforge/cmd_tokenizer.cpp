// lmforge tokenizer train: a byte-level BPE vocabulary learned from a corpus, written as
// Hugging Face files (docs/tokenizers.md, "Training a tokenizer"). A one-stage pipeline of
// the builtin stage tokenizer.train (core/tokenizer/train_stage.h), checked as any
// pipeline is, whose stage runs here so that its errors keep their exit codes and name
// the options (Note [Options as params]).
#include "hosts/lmforge/cli_common.h"
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"
#include "hosts/lmforge/pipeline_command.h"

#include "core/plugin/status.h"
#include "core/services/cancellation.h"
#include "core/tokenizer/train_stage.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <stdexcept>

namespace lmf::cli {
namespace {

using nlohmann::json;

// Note [Options as params]
// Each option is one param of the tokenizer.train stage, and the stage's schema holds the
// defaults and the checks. A param the schema refuses is reported as its option, a usage
// error (exit 2), as are the tokenizer's refusals of its options (LMF_ERR_INVALID_ARGUMENT).
const std::map<std::string, std::string> kOptionOfParam = {{"inputs", "--input"},
                                                           {"output", "--output"},
                                                           {"vocab_size", "--vocab-size"},
                                                           {"special_tokens", "--special"},
                                                           {"min_frequency", "--min-frequency"},
                                                           {"bos_token", "--bos-token"},
                                                           {"eos_token", "--eos-token"},
                                                           {"pad_token", "--pad-token"},
                                                           {"unk_token", "--unk-token"},
                                                           {"threads", "--threads"},
                                                           {"tokenizer", "--tokenizer"}};

constexpr const char* kUsage =
    "lmforge tokenizer train --input PATH... --output DIR [--vocab-size N] [--special LIST]";

struct TrainCommand {
  CommonOptions common;
  std::vector<std::string> inputs;
  std::string output;
  std::vector<std::string> specials;
  std::string component = "hf";
  bool add_bos = false, add_eos = false;
};

po::options_description train_options(TrainCommand& c) {
  po::options_description options = common_options(c.common);
  options.add_options()(
      "input", po::value(&c.inputs)->composing(),
      "text files, folders or globs (each line is a text, as Hugging Face's train(files)), or a "
      "data-source config file NAME.json {\"component\": ..., \"config\": ...}; repeatable")(
      "output", po::value(&c.output),
      "the folder to write tokenizer.json and "
      "tokenizer_config.json into (created if missing)")(
      "vocab-size", po::value<int64_t>(),
      "tokens in the vocabulary, special tokens and the 256 byte symbols included (default 52000)")(
      "special", po::value(&c.specials)->composing(),
      "special tokens, comma-separated, ids 0, 1, 2… in this order (default "
      "<bos>,<eos>,<pad>,<unk>; \"\" for none); repeatable")(
      "min-frequency", po::value<int64_t>(), "merge no pair seen fewer times (default 2)")(
      "bos-token", po::value<std::string>(),
      "the special token that begins a sequence (default <bos> when listed)")(
      "eos-token", po::value<std::string>(), "the one that ends it (default <eos> when listed)")(
      "pad-token", po::value<std::string>(), "padding (default <pad> when listed)")(
      "unk-token", po::value<std::string>(), "unknown (default <unk> when listed)")(
      "add-bos", po::bool_switch(&c.add_bos),
      "encoding with special tokens puts bos first (a post-processor in tokenizer.json)")(
      "add-eos", po::bool_switch(&c.add_eos), "... and eos last")(
      "threads", po::value<int64_t>(), "threads counting words (default: all cores)")(
      "tokenizer", po::value(&c.component)->default_value(std::string("hf")),
      "the tokenizer component that trains (it must implement train and save)");
  return options;
}

std::vector<std::string> split_specials(const std::vector<std::string>& lists) {
  std::vector<std::string> tokens;
  for (const std::string& list : lists) {
    if (list.empty()) continue;
    for (size_t start = 0;;) {
      const size_t comma = list.find(',', start);
      const std::string token = list.substr(start, comma - start);
      if (token.empty()) throw std::invalid_argument("--special \"" + list + "\": an empty token");
      tokens.push_back(token);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return tokens;
}

// The stage's params; an option not given is left to the stage's default. The command
// writes over an output folder's files, as it always has.
json train_params(const TrainCommand& c, const po::variables_map& variables) {
  json params = {{"inputs", c.inputs},         {"output", c.output},
                 {"overwrite", true},          {"tokenizer", {{"component", c.component}}},
                 {"add_bos_token", c.add_bos}, {"add_eos_token", c.add_eos}};
  if (!c.specials.empty()) params["special_tokens"] = split_specials(c.specials);
  for (const char* param : {"vocab_size", "min_frequency", "threads"})
    if (variables.count(kOptionOfParam.at(param).substr(2)))
      params[param] = variables[kOptionOfParam.at(param).substr(2)].as<int64_t>();
  for (const char* param : {"bos_token", "eos_token", "pad_token", "unk_token"})
    if (variables.count(kOptionOfParam.at(param).substr(2)))
      params[param] = variables[kOptionOfParam.at(param).substr(2)].as<std::string>();
  return params;
}

// The checked pipeline of one tokenizer.train stage; issues with a param are reported as
// its option (Note [Options as params]).
Prepared prepare_stage(const CommonOptions& common, json params) {
  json document = {
      {"run", {{"name", "tokenizer-train"}}},
      {"stages",
       {{{"name", "train"}, {"builtin", "tokenizer.train"}, {"params", std::move(params)}}}}};
  try {
    return prepare_inline(common, std::move(document), "the lmforge tokenizer train command line");
  } catch (const pipeline::PipelineInvalid& e) {
    if (e.names_missing_component()) throw;
    const std::string prefix = "/stages/0/params/";
    std::string message;
    for (const pipeline::ConfigIssue& issue : e.issues()) {
      if (!issue.pointer.starts_with(prefix)) throw;
      const std::string field = issue.pointer.substr(prefix.size());
      const std::string param = field.substr(0, field.find('/'));
      if (!kOptionOfParam.contains(param)) throw;
      message += (message.empty() ? "" : "\n") + kOptionOfParam.at(param) +
                 (field.size() > param.size() ? " (" + field.substr(param.size()) + ")" : "") +
                 ": " + issue.message;
    }
    throw std::invalid_argument(message);
  }
}

// A plugin's failure as this command's exit code: the tokenizer's options are the command
// line's, a component that is missing or cannot train is a plugin problem.
int report_failure(const plugin::PluginError& e) {
  std::cerr << "lmforge: " << e.what() << "\n";
  switch (e.code()) {
    case LMF_ERR_CANCELLED:
      return kExitCancelled;
    case LMF_ERR_INVALID_ARGUMENT:
      return kExitUsage;
    case LMF_ERR_UNSUPPORTED:
    case LMF_ERR_NOT_FOUND:
      return kExitPlugin;
    default:
      return kExitFailed;
  }
}

}  // namespace

int tokenizer_train(const Args& args) {
  TrainCommand command;
  po::options_description options = train_options(command);
  po::variables_map variables;
  if (!parse_command(args, options, {}, variables, kUsage)) return kExitOk;
  if (command.inputs.empty()) throw std::invalid_argument("--input is required (see --help)");
  if (command.output.empty()) throw std::invalid_argument("--output is required (see --help)");
  Prepared prepared = prepare_stage(command.common, train_params(command, variables));

  services::Cancellation& cancellation = services::Cancellation::process();
  cancellation.install_signal_handlers();
  json summary;
  try {
    summary =
        tokenizer::run_train(prepared.pipeline.stages.at(0).spec["params"],
                             prepared.session->registry(), prepared.session->services(),
                             [](size_t, const std::string& input) { return "--input " + input; });
  } catch (const plugin::PluginError& e) {
    cancellation.restore_signal_handlers();
    return report_failure(e);
  } catch (...) {
    cancellation.restore_signal_handlers();
    throw;
  }
  cancellation.restore_signal_handlers();
  std::cout << summary["table"].get<std::string>() << "\n";
  return kExitOk;
}

}  // namespace lmf::cli
