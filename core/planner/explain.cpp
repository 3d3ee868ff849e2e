#include "core/planner/explain.h"

#include "core/planner/units.h"

#include <cstdio>

namespace lmf::planner {
namespace {

const char* unit_name(Unit unit) {
  switch (unit) {
    case Unit::count:
      return "count";
    case Unit::bytes:
      return "bytes";
    case Unit::bytes_per_param:
      return "bytes/parameter";
    case Unit::flops:
      return "FLOPs";
    case Unit::seconds:
      return "seconds";
    case Unit::money:
      return "money";
    case Unit::ratio:
      return "ratio";
    case Unit::plain:
      return "";
  }
  return "";
}

std::string title(const std::string& section) {
  if (section == "parameters") return "Parameters";
  if (section == "memory") return "Memory per GPU";
  if (section == "time") return "Time";
  if (section == "cost") return "Cost";
  return section;
}

}  // namespace

std::string format_value(double value, Unit unit) {
  char buffer[64];
  switch (unit) {
    case Unit::count:
      return format_count(value) + (value >= 1e4 ? " (" + format_number(value) + ")" : "");
    case Unit::bytes:
      return format_bytes(value);
    case Unit::bytes_per_param:
      return format_number(value) + " bytes/parameter";
    case Unit::flops:
      std::snprintf(buffer, sizeof buffer, "%.4g FLOPs", value);
      return buffer;
    case Unit::seconds:
      return format_duration(value) + " (" + format_number(value) + " s)";
    case Unit::money:
      return format_money(value, "");
    case Unit::ratio:
    case Unit::plain:
      return format_number(value);
  }
  return format_number(value);
}

void write_explanation(std::ostream& out, const Derivation& derivation) {
  std::string section;
  for (const Step& step : derivation.steps()) {
    if (step.section != section) {
      section = step.section;
      out << "\n" << title(section) << "\n";
    }
    if (step.name.empty()) {
      out << "  (" << step.formula << ")\n";
      continue;
    }
    out << "  " << step.name << " = " << step.formula << "\n";
    if (!step.numbers.empty() && step.numbers != step.formula)
      out << "      = " << step.numbers << "\n";
    out << "      = " << format_value(step.value, step.unit) << "\n";
  }
}

nlohmann::json explanation_to_json(const Derivation& derivation) {
  nlohmann::json steps = nlohmann::json::array();
  for (const Step& step : derivation.steps()) {
    if (step.name.empty()) {
      steps.push_back({{"section", step.section}, {"note", step.formula}});
      continue;
    }
    steps.push_back({{"section", step.section},
                     {"name", step.name},
                     {"formula", step.formula},
                     {"numbers", step.numbers},
                     {"value", step.value},
                     {"unit", unit_name(step.unit)}});
  }
  return steps;
}

}  // namespace lmf::planner
