// `lmforge plan --explain`: every formula with its numbers (Note [One computation, one
// explanation]).
#pragma once

#include "core/planner/derivation.h"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>

namespace lmf::planner {

std::string format_value(double value, Unit unit);
void write_explanation(std::ostream& out, const Derivation& derivation);
nlohmann::json explanation_to_json(const Derivation& derivation);

}  // namespace lmf::planner
