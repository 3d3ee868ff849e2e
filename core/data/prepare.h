// `lmforge data prepare` / the "data.prepare" stage: a data source's records, tokenized,
// packed into shards (Note [Shard format]) with a train/validation split, resumable.
#pragma once

#include "core/pipeline/run_services.h"
#include "core/plugin/component_spec.h"
#include "core/plugin/registry.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace lmf::data {

// The JSON schema of the stage's params.
const nlohmann::json& prepare_params_schema();

// Problems with the source's and tokenizer's components and their configs (validated
// against their schemas, defaults filled into `params`), each as {pointer below
// `params_pointer`, message, whether a component is missing}.
using PrepareIssue = plugin::SpecIssue;
std::vector<PrepareIssue> validate_prepare_params(nlohmann::json& params, const std::string& params_pointer,
                                                  const plugin::PluginRegistry& registry);

// Runs it; returns a summary (documents and tokens per split, shards, the source's report,
// rates). Throws plugin::PluginError (LMF_ERR_CANCELLED after a clean checkpoint when the
// user stops it) or std::runtime_error naming what failed.
nlohmann::json run_prepare(const nlohmann::json& params, const plugin::PluginRegistry& registry,
                           pipeline::RunServices& services);

}  // namespace lmf::data
