// The record behind `lmforge plan --explain`: every quantity the planner computes, as its
// formula, the formula with the numbers put in, and the result.
//
// Note [One computation, one explanation]
// The models compute each value once and, when a Derivation is passed, record that same
// value with its formula. There is no second "explaining" code path that could drift from
// the arithmetic: --explain prints what was computed. Recording is optional (nullptr) so
// the fit search can evaluate thousands of layouts without formatting strings.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace lmf::planner {

enum class Unit { count, bytes, bytes_per_param, flops, seconds, money, ratio, plain };

struct Step {
  std::string section;  // "parameters", "memory", "time", "cost"
  std::string name;     // "weights"
  std::string formula;  // "P_linear x b_linear + P_other x b_other"
  std::string numbers;  // "68.45e9 x 0.5195 + 2.101e9 x 2"
  double value = 0;
  Unit unit = Unit::plain;
};

class Derivation {
 public:
  // Records a step; `numbers` is only called when recording, so it may format freely.
  void add(std::string section, std::string name, std::string formula,
           const std::function<std::string()>& numbers, double value, Unit unit);
  // Free text that belongs to a section: an assumption, a convention.
  void note(std::string section, std::string text);

  const std::vector<Step>& steps() const { return steps_; }

 private:
  std::vector<Step> steps_;
};

// Records into `derivation` when it is not null; returns `value` either way, so that a
// model reads `double w = record(d, "memory", "weights", "...", [&]{...}, x * y, Unit::bytes);`
double record(Derivation* derivation, const char* section, std::string name, std::string formula,
              const std::function<std::string()>& numbers, double value, Unit unit);

// Shorthand for the numbers of a formula: format_number of each value.
std::string num(double value);

}  // namespace lmf::planner
