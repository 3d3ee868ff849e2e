// The builtin stage "tokenizer.train" (and `lmforge tokenizer train`): a vocabulary learned
// from a corpus (training_corpus.h) by a tokenizer component's train, written by its save
// into a folder that data.prepare's {"component": "hf", "config": {"path": ...}} loads
// (docs/tokenizers.md, "Training a tokenizer").
#pragma once

#include "core/pipeline/run_services.h"
#include "core/plugin/component_spec.h"
#include "core/plugin/registry.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace lmf::tokenizer {

// The JSON schema of the stage's params.
const nlohmann::json& train_params_schema();

// What the params schema cannot say: some corpus is given, the tokenizer and source
// components are loaded and their configs match their schemas (defaults filled in).
std::vector<plugin::SpecIssue> validate_train_params(nlohmann::json& params,
                                                     const std::string& params_pointer,
                                                     const plugin::PluginRegistry& registry);

// How run-time messages name inputs[index]: "inputs[0] corpus/*.txt" in a pipeline,
// "--input corpus/*.txt" on the command line.
using InputLabel = std::function<std::string(size_t index, const std::string& input)>;
std::string pipeline_input_label(size_t index, const std::string& input);

// Trains and saves; returns the summary (tokens reached and asked, merges, texts, bytes,
// seconds, the files written, a warning when the corpus filled fewer tokens than asked,
// and a "table" of it for the terminal). Throws std::invalid_argument for an input that
// names nothing, config::ConfigError for a bad data-source config file,
// plugin::PluginError for the tokenizer's refusals (LMF_ERR_CANCELLED when stopped,
// nothing written) and std::runtime_error for the rest, each naming what to fix.
nlohmann::json run_train(const nlohmann::json& params, const plugin::PluginRegistry& registry,
                         pipeline::RunServices& services,
                         const InputLabel& label = pipeline_input_label);

}  // namespace lmf::tokenizer
