// lmforge tokenizer train: a byte-level BPE vocabulary learned from a corpus, written as
// Hugging Face files (docs/tokenizers.md, "Training a tokenizer").
#include "hosts/lmforge/cli_common.h"
#include "hosts/lmforge/commands.h"
#include "hosts/lmforge/exit_codes.h"
#include "hosts/lmforge/training_corpus.h"

#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/status.h"
#include "core/services/cancellation.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace lmf::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage =
    "lmforge tokenizer train --input PATH... --output DIR [--vocab-size N] [--special LIST]";

struct TrainCommand {
  CommonOptions common;
  std::vector<std::string> inputs;
  std::string output;
  int64_t vocab_size = 52000;
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
      "vocab-size", po::value(&c.vocab_size)->default_value(52000),
      "tokens in the vocabulary, special tokens and the 256 byte symbols included")(
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
  if (lists.empty()) return {"<bos>", "<eos>", "<pad>", "<unk>"};
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

// What the tokenizer's train call takes (for hf: plugins/tokenizer/hf/train_options.h).
json train_request(const TrainCommand& c, const po::variables_map& variables) {
  if (c.vocab_size <= 0 || c.vocab_size > INT32_MAX)
    throw std::invalid_argument("--vocab-size " + std::to_string(c.vocab_size) +
                                ": expected a positive integer below 2^31");
  json request = {{"vocab_size", c.vocab_size}, {"special_tokens", split_specials(c.specials)}};
  if (variables.count("min-frequency")) {
    const int64_t min_frequency = variables["min-frequency"].as<int64_t>();
    if (min_frequency < 0)
      throw std::invalid_argument("--min-frequency " + std::to_string(min_frequency) +
                                  ": expected 0 or more");
    request["min_frequency"] = min_frequency;
  }
  if (variables.count("threads")) {
    const int64_t threads = variables["threads"].as<int64_t>();
    if (threads < 0) throw std::invalid_argument("--threads: expected 0 or more");
    request["threads"] = threads;
  }
  for (const char* role : {"bos", "eos", "pad", "unk"})
    if (variables.count(std::string(role) + "-token"))
      request[std::string(role) + "_token"] =
          variables[std::string(role) + "-token"].as<std::string>();
  if (c.add_bos) request["add_bos_token"] = true;
  if (c.add_eos) request["add_eos_token"] = true;
  return request;
}

// Fails before any training when the folder cannot be made or written.
void check_output_folder(const fs::path& output) {
  std::error_code error;
  fs::create_directories(output, error);
  if (error || !fs::is_directory(output))
    throw std::runtime_error("cannot create the output folder " + output.string() + ": " +
                             (error ? error.message() : "a file of that name exists"));
  const fs::path probe = output / ".lmforge-write-test";
  if (std::FILE* file = std::fopen(probe.c_str(), "wb")) {
    std::fclose(file);
    fs::remove(probe, error);
    return;
  }
  throw std::runtime_error("the output folder " + output.string() +
                           " is not writable: " + std::strerror(errno));
}

// A plugin's failure as this command's exit code: its options are the command line's.
int report_failure(const plugin::PluginError& e) {
  std::cerr << "lmforge: " << e.what() << "\n";
  switch (e.code()) {
    case LMF_ERR_CANCELLED:
      return kExitCancelled;
    case LMF_ERR_INVALID_ARGUMENT:
      return kExitUsage;
    case LMF_ERR_UNSUPPORTED:
      return kExitPlugin;
    default:
      return kExitFailed;
  }
}

std::string megabytes(uint64_t bytes) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / 1e6 << " MB";
  return text.str();
}

}  // namespace

int tokenizer_train(const Args& args) {
  TrainCommand command;
  po::options_description options = train_options(command);
  po::variables_map variables;
  if (!parse_command(args, options, {}, variables, kUsage)) return kExitOk;
  if (command.inputs.empty()) throw std::invalid_argument("--input is required (see --help)");
  if (command.output.empty()) throw std::invalid_argument("--output is required (see --help)");
  const json request = train_request(command, variables);
  const fs::path output = command.output;
  check_output_folder(output);

  auto session = open_session(command.common);
  const plugin::ComponentRef ref =
      session->registry().require(LMF_KIND_TOKENIZER, command.component);
  json config = json::object();
  if (const auto issues = config::validate(json::parse(ref.schema()), config); !issues.empty())
    throw std::invalid_argument("tokenizer \"" + command.component +
                                "\" cannot start without a config: " + issues[0].pointer + ": " +
                                issues[0].message);
  plugin::ComponentInstance tokenizer(ref, config);
  const auto& vtable = tokenizer.vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
  if (vtable.train == nullptr || vtable.save == nullptr)
    throw plugin::PluginError(LMF_ERR_UNSUPPORTED,
                              tokenizer.label() + " cannot train or save a vocabulary");
  TrainingCorpus corpus(command.inputs, session->registry());

  const auto start = std::chrono::steady_clock::now();
  const std::string request_text = request.dump();
  services::Cancellation& cancellation = services::Cancellation::process();
  cancellation.install_signal_handlers();
  lmf_status_t* status =
      vtable.train(tokenizer.get(), corpus.stream(), {request_text.data(), request_text.size()});
  cancellation.restore_signal_handlers();
  try {
    corpus.rethrow_failure();  // what stopped the reading comes first, not the cancellation
  } catch (...) {
    plugin::release_status(status);
    throw;
  }
  try {
    plugin::check_status(status, tokenizer.label());
    if (corpus.texts() == 0) throw std::runtime_error("no text to train on: the inputs are empty");
    const std::string folder = output.string();
    plugin::check_status(vtable.save(tokenizer.get(), {folder.data(), folder.size()}),
                         tokenizer.label());
  } catch (const plugin::PluginError& e) {
    return report_failure(e);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << "Trained " << tokenizer.label() << ": " << vtable.vocab_size(tokenizer.get())
            << " tokens from " << corpus.texts() << " texts (" << megabytes(corpus.bytes())
            << " in " << corpus.files() << " files and " << corpus.sources() << " data sources) in "
            << std::fixed << std::setprecision(1) << seconds << " s\n";
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    if (fs::exists(output / file)) std::cout << "  " << (output / file).string() << "\n";
  return kExitOk;
}

}  // namespace lmf::cli
