// lmforge — the command-line host. Thin: parses the command line and calls core/.
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"

#include "core/config/config_error.h"
#include "core/pipeline/pipeline.h"
#include "core/plugin/status.h"

#include <boost/program_options/errors.hpp>

#include <functional>
#include <iostream>
#include <map>

namespace {

using lmf::cli::Args;

constexpr const char* kOverview = R"(lmforge — from a company's documents to a model it owns.

Usage: lmforge <command> [options]

Commands:
  plugins list [--json]          the loaded plugins and their components, and any refused
  plugins inspect NAME [--json]  one plugin or component: kinds, version, vendor, schema
  config check FILE [--set K=V]  compose and validate a pipeline file without running it
  run FILE [--set K=V]           run a pipeline (configs/quickstart.json to begin with)
  plan MODEL [--method M]        GPU memory, which and how many GPUs, time and cost
  data prepare FILE [--set K=V]  only the pipeline's data.prepare stages: records to token shards
  tokenizer train --input PATH --output DIR [--vocab-size N]
                                 learn a byte-level BPE tokenizer from text, write tokenizer.json
  generate MODEL -p PROMPT       continue prompts with a model (streams one, batches several)
  eval MODEL --shards DIR        perplexity over token shards, a JSON Lines file or a text
  train CONFIG                   pretrain or fine-tune (full, LoRA; causal LM, SFT, DPO), resumable
  quantize CONFIG                quantize a model with a quantizer plugin (RTN, GPTQ, ...), calibrated layer by layer
  version [--json]               the lmforge and plugin ABI versions

`lmforge <command> --help` describes a command's options.
Exit codes: 0 ok, 1 failed, 2 usage, 3 invalid configuration, 4 plugin missing or refused,
130 cancelled.
)";

struct Command {
  std::vector<std::string> words;
  std::function<int(const Args&)> handler;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> list{
      {{"plugins", "list"}, lmf::cli::plugins_list},
      {{"plugins", "inspect"}, lmf::cli::plugins_inspect},
      {{"config", "check"}, lmf::cli::config_check},
      {{"run"}, lmf::cli::run},
      {{"plan"}, lmf::cli::plan},
      {{"data", "prepare"}, lmf::cli::data_prepare},
      {{"tokenizer", "train"}, lmf::cli::tokenizer_train},
      {{"generate"}, lmf::cli::generate},
      {{"eval"}, lmf::cli::eval},
      {{"train"}, lmf::cli::train},
      {{"quantize"}, lmf::cli::quantize},
      {{"version"}, lmf::cli::version},
  };
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  Args words(argv + 1, argv + argc);
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    std::cout << kOverview;
    return words.empty() ? lmf::cli::kExitUsage : lmf::cli::kExitOk;
  }
  if (words[0] == "--version") words[0] = "version";
  for (const Command& command : commands()) {
    if (words.size() < command.words.size() ||
        !std::equal(command.words.begin(), command.words.end(), words.begin()))
      continue;
    Args rest(words.begin() + static_cast<long>(command.words.size()), words.end());
    try {
      return command.handler(rest);
    } catch (const boost::program_options::error& e) {
      std::cerr << "lmforge: " << e.what() << " (see lmforge " << words[0] << " --help)\n";
      return lmf::cli::kExitUsage;
    } catch (const lmf::config::ConfigError& e) {
      std::cerr << "lmforge: " << e.what() << "\n";
      return lmf::cli::kExitInvalidConfig;
    } catch (const lmf::pipeline::PipelineInvalid& e) {
      std::cerr << "lmforge: the configuration is invalid:\n" << e.what() << "\n";
      return e.names_missing_component() ? lmf::cli::kExitPlugin : lmf::cli::kExitInvalidConfig;
    } catch (const lmf::plugin::PluginError& e) {
      std::cerr << "lmforge: " << e.what() << "\n";
      return e.code() == LMF_ERR_CANCELLED ? lmf::cli::kExitCancelled : lmf::cli::kExitPlugin;
    } catch (const std::invalid_argument& e) {
      std::cerr << "lmforge: " << e.what() << "\n";
      return lmf::cli::kExitUsage;
    } catch (const std::exception& e) {
      std::cerr << "lmforge: " << e.what() << "\n";
      return lmf::cli::kExitFailed;
    }
  }
  // "plugins frobnicate" names a group's unknown subcommand; "versoin --json" only "versoin".
  bool is_group = false;
  for (const Command& command : commands())
    is_group = is_group || (command.words.size() > 1 && command.words[0] == words[0]);
  std::cerr << "lmforge: unknown command \"" << words[0]
            << (words.size() > 1 && is_group ? " " + words[1] : "") << "\"\n\n"
            << kOverview;
  return lmf::cli::kExitUsage;
}
