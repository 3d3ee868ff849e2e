// The errors of the planner. What the user must fix is in the message, led by the option
// (or JSON field) that holds the wrong value.
#pragma once

#include <stdexcept>
#include <string>

namespace lmf::planner {

// A wrong request: an unknown preset or GPU, a bad option value, parallel degrees that do
// not fit the model. `lmforge plan` exits 2 (usage) on it. Problems inside a file (a
// config.json, a GPU catalog) are lmf::config::ConfigError instead, exit 3.
class PlanError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace lmf::planner
