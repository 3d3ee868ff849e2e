// What it costs: buying the GPUs, renting them for the time, and the energy they draw.
#pragma once

#include "core/planner/derivation.h"
#include "core/planner/gpu_catalog.h"

#include <string>

namespace lmf::planner {

struct CostEstimate {
  std::string currency;
  double purchase = -1;        // GPUs only (no servers, network, power); -1: price unknown
  double cloud_per_hour = -1;  // the whole layout; -1: price unknown
  double gpu_hours = 0;        // for the token budget
  double cloud = -1;           // for the token budget; -1: unknown or no budget
  double energy_kwh = 0;       // GPU board power x time
  bool estimated = false;      // a price is an estimate, not a quote from a seed
};

CostEstimate estimate_cost(const GpuSpec& gpu, int gpus, double seconds,
                           Derivation* derivation = nullptr);

}  // namespace lmf::planner
