// `evaluate` requests: perplexity over ids, text, a jsonl file or packed shards, and
// log-likelihood scoring of candidate completions (docs/backend.md lists the fields).
#pragma once

#include "loaded_model.h"

#include <nlohmann/json.hpp>

namespace lmf::torch_backend {

// Runs the evaluation described by `request` ({"task": "perplexity" | "score", …});
// returns its JSON summary. Throws naming the field for anything malformed.
nlohmann::json run_evaluation(LoadedModel& model, const nlohmann::json& request);

}  // namespace lmf::torch_backend
