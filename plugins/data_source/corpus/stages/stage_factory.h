// Builds the configured list of cleaning stages ("stages" in the config, docs/data.md).
#pragma once

#include "stages/stage.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

namespace lmf::data {

// The names of every stage, in the order docs/data.md describes them.
const std::vector<std::string>& stage_names();

// One stage from a list item: a name ("whitespace") or an object {"stage": name, options}.
// Absent options take the schema's defaults. Throws lmf::sdk::Error naming the item.
std::unique_ptr<Stage> make_stage(const nlohmann::json& item, std::size_t index);
std::vector<std::unique_ptr<Stage>> make_stages(const nlohmann::json& list);

}  // namespace lmf::data
