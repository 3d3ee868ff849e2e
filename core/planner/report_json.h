// `lmforge plan --json`: the plan for tools. Memory in bytes, time in seconds, money in the
// GPU's currency; see docs/planner.md for the fields.
#pragma once

#include "core/planner/planner.h"

#include <nlohmann/json.hpp>

namespace lmf::planner {

nlohmann::json plan_to_json(const Plan& plan);
nlohmann::json model_list_json();

}  // namespace lmf::planner
