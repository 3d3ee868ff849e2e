#include "core/planner/derivation.h"

#include "core/planner/units.h"

#include <utility>

namespace lmf::planner {

void Derivation::add(std::string section, std::string name, std::string formula,
                     const std::function<std::string()>& numbers, double value, Unit unit) {
  steps_.push_back(
      Step{std::move(section), std::move(name), std::move(formula), numbers(), value, unit});
}

void Derivation::note(std::string section, std::string text) {
  steps_.push_back(Step{std::move(section), "", std::move(text), "", 0, Unit::plain});
}

double record(Derivation* derivation, const char* section, std::string name, std::string formula,
              const std::function<std::string()>& numbers, double value, Unit unit) {
  if (derivation != nullptr)
    derivation->add(section, std::move(name), std::move(formula), numbers, value, unit);
  return value;
}

std::string num(double value) {
  return format_number(value);
}

}  // namespace lmf::planner
