// The builtin stage "model.evaluate" (and `lmforge eval`): a backend's evaluation —
// perplexity over shards, jsonl or text, or log-likelihood scores of candidates — with a
// table of the result (docs/backend.md).
#pragma once

#include "core/model/model_session.h"
#include "core/pipeline/run_services.h"

#include <nlohmann/json.hpp>

namespace lmf::model {

const nlohmann::json& evaluate_params_schema();
nlohmann::json run_evaluate(const nlohmann::json& params, const plugin::PluginRegistry& registry,
                            pipeline::RunServices& services);

}  // namespace lmf::model
