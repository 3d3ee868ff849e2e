#include "core/tokenizer/train_stage.h"

#include "core/data/prepare.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/status.h"
#include "core/tokenizer/training_corpus.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace lmf::tokenizer {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The train options are `lmforge tokenizer train`'s, one to one, with its defaults; what
// the params hold besides the stage's own fields goes to the tokenizer's train as is.
json make_schema() {
  json schema = json::parse(R"json({
    "type": "object",
    "additionalProperties": false,
    "required": ["output"],
    "properties": {
      "inputs": {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
                 "description": "text files (a line is a text), folders, globs, or data-source config files NAME.json, read in order"},
      "source": {"$ref": "#/$defs/component",
                 "description": "a data_source component and its config (each record is a text), read after inputs"},
      "tokenizer": {"$ref": "#/$defs/component", "default": {"component": "hf"},
                    "description": "the tokenizer component that trains (it must implement train and save)"},
      "output": {"type": "string", "minLength": 1,
                 "description": "the folder the tokenizer's files (tokenizer.json...) are written into"},
      "overwrite": {"type": "boolean", "default": false,
                    "description": "write into an output folder that already holds files"},
      "vocab_size": {"type": "integer", "minimum": 1, "maximum": 2147483647, "default": 52000,
                     "description": "tokens in the vocabulary, special tokens and the 256 byte symbols included"},
      "min_frequency": {"type": "integer", "minimum": 0,
                        "description": "merge no pair seen fewer times (the tokenizer's default: 2 for hf)"},
      "special_tokens": {"type": "array", "items": {"type": "string", "minLength": 1},
                         "default": ["<bos>", "<eos>", "<pad>", "<unk>"],
                         "description": "special tokens, ids 0, 1, 2... in this order"},
      "bos_token": {"type": "string", "description": "the special token that begins a sequence (default <bos> when listed)"},
      "eos_token": {"type": "string", "description": "the one that ends it (default <eos> when listed)"},
      "pad_token": {"type": "string", "description": "padding (default <pad> when listed)"},
      "unk_token": {"type": "string", "description": "unknown (default <unk> when listed)"},
      "add_bos_token": {"type": "boolean", "default": false,
                        "description": "encoding with special tokens puts bos first"},
      "add_eos_token": {"type": "boolean", "default": false, "description": "... and eos last"},
      "threads": {"type": "integer", "minimum": 0, "description": "threads counting words (0: all cores)"}
    }
  })json");
  // "source" and "tokenizer" name components as data.prepare's do.
  schema["$defs"]["component"] = data::prepare_params_schema().at("$defs").at("component");
  return schema;
}

// The params that are the stage's own; the rest are the tokenizer's train options.
constexpr const char* kStageFields[] = {"inputs", "source", "tokenizer", "output", "overwrite"};

json train_request(const json& params) {
  json request = params;
  for (const char* field : kStageFields) request.erase(field);
  return request;
}

// Up to three of the folder's entries, for a message.
std::string some_entries(const fs::path& folder) {
  std::string names;
  int shown = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (shown++ == 3) return names + ", ...";
    names += (names.empty() ? "" : ", ") + entry.path().filename().string();
  }
  return names;
}

// Fails before any training when the folder holds files and overwrite is off, or cannot
// be made or written.
void check_output_folder(const fs::path& output, bool overwrite) {
  std::error_code error;
  if (!overwrite && fs::is_directory(output, error) && !fs::is_empty(output, error))
    throw std::runtime_error(
        "output " + output.string() + " already holds files (" + some_entries(output) +
        "); set \"overwrite\": true to write over them, or choose another folder");
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

// Merges of a byte-level BPE tokenizer.json (model.merges), or -1 for other files.
int64_t merges_in(const fs::path& tokenizer_json) {
  std::ifstream in(tokenizer_json, std::ios::binary);
  if (!in) return -1;
  const json root = json::parse(in, nullptr, false);
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) return -1;
  const json& model = root["model"];
  return model.contains("merges") && model["merges"].is_array()
             ? static_cast<int64_t>(model["merges"].size())
             : -1;
}

std::string megabytes(uint64_t bytes) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << static_cast<double>(bytes) / 1e6 << " MB";
  return text.str();
}

}  // namespace

const json& train_params_schema() {
  static const json schema = make_schema();  // after data.prepare's, which it reads
  return schema;
}

std::string pipeline_input_label(size_t index, const std::string& input) {
  return "inputs[" + std::to_string(index) + "] " + input;
}

std::vector<plugin::SpecIssue> validate_train_params(json& params,
                                                     const std::string& params_pointer,
                                                     const plugin::PluginRegistry& registry) {
  std::vector<plugin::SpecIssue> issues = plugin::validate_component_specs(
      params, params_pointer, {{"source", LMF_KIND_DATA_SOURCE}, {"tokenizer", LMF_KIND_TOKENIZER}},
      registry);
  if (params.value("inputs", json::array()).empty() && !params.contains("source"))
    issues.push_back({params_pointer + "/inputs",
                      "nothing to train on: give inputs (text files, folders, globs, data-source "
                      "config files), a source, or both",
                      false});
  return issues;
}

json run_train(const json& params, const plugin::PluginRegistry& registry,
               pipeline::RunServices& services, const InputLabel& label) {
  const fs::path output = params.at("output").get<std::string>();
  check_output_folder(output, params.at("overwrite").get<bool>());

  const json& spec = params.at("tokenizer");
  plugin::ComponentInstance tokenizer(
      registry.require(LMF_KIND_TOKENIZER, spec.at("component").get<std::string>()),
      spec.at("config"));
  const auto& vtable = tokenizer.vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
  if (vtable.train == nullptr || vtable.save == nullptr)
    throw plugin::PluginError(LMF_ERR_UNSUPPORTED,
                              tokenizer.label() + " cannot train or save a vocabulary");

  TrainingCorpus corpus(registry);
  const json& inputs = params.at("inputs");
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string input = inputs[i].get<std::string>();
    corpus.add_input(input, label(i, input));
  }
  if (params.contains("source")) corpus.add_source(params["source"]);

  const auto start = std::chrono::steady_clock::now();
  const std::string request = train_request(params).dump();
  lmf_status_t* status =
      vtable.train(tokenizer.get(), corpus.stream(), {request.data(), request.size()});
  try {
    corpus.rethrow_failure();  // what stopped the reading comes first, not the cancellation
  } catch (...) {
    plugin::release_status(status);
    throw;
  }
  plugin::check_status(status, tokenizer.label());
  if (corpus.texts() == 0) throw std::runtime_error("no text to train on: the inputs are empty");
  const std::string folder = output.string();
  plugin::check_status(vtable.save(tokenizer.get(), {folder.data(), folder.size()}),
                       tokenizer.label());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const uint32_t reached = vtable.vocab_size(tokenizer.get());
  const int64_t asked = params.at("vocab_size").get<int64_t>();
  std::ostringstream table;
  table << "Trained " << tokenizer.label() << ": " << reached << " tokens from " << corpus.texts()
        << " texts (" << megabytes(corpus.bytes()) << " in " << corpus.files() << " files and "
        << corpus.sources() << " data sources) in " << std::fixed << std::setprecision(1) << seconds
        << " s";
  json files = json::array();
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    if (fs::exists(output / file)) {
      files.push_back((output / file).string());
      table << "\n  " << (output / file).string();
    }
  json summary = {{"output", folder},
                  {"tokenizer", tokenizer.label()},
                  {"vocab_size", reached},
                  {"vocab_size_asked", asked},
                  {"texts", corpus.texts()},
                  {"bytes", corpus.bytes()},
                  {"files_read", corpus.files()},
                  {"data_sources_read", corpus.sources()},
                  {"seconds", seconds},
                  {"files", files}};
  if (const int64_t merges = merges_in(output / "tokenizer.json"); merges >= 0)
    summary["merges"] = merges;
  if (reached < asked) {
    summary["warning"] = "the corpus filled " + std::to_string(reached) + " of the " +
                         std::to_string(asked) + " tokens asked (the tokenizer's log says why)";
    table << "\n  warning: " << summary["warning"].get<std::string>();
  }
  summary["table"] = table.str();
  services.metric("host", "tokenizer/vocab_size", reached, 0);
  services.metric("host", "tokenizer/texts", static_cast<double>(corpus.texts()), 0);
  return summary;
}

}  // namespace lmf::tokenizer
