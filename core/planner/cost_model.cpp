#include "core/planner/cost_model.h"

namespace lmf::planner {

CostEstimate estimate_cost(const GpuSpec& gpu, int gpus, double seconds, Derivation* derivation) {
  constexpr const char* kSection = "cost";
  CostEstimate cost;
  cost.currency = gpu.currency;
  const double n = gpus;
  cost.estimated = (gpu.price && gpu.price_estimate) || (gpu.cloud_per_hour && gpu.cloud_estimate);
  if (gpu.price)
    cost.purchase = record(
        derivation, kSection, "purchase (GPUs only, " + gpu.currency + ")", "GPUs * price",
        [&] { return num(n) + "*" + num(*gpu.price); }, n * *gpu.price, Unit::money);
  if (gpu.cloud_per_hour)
    cost.cloud_per_hour = record(
        derivation, kSection, "cloud per hour (" + gpu.currency + ")", "GPUs * hourly price",
        [&] { return num(n) + "*" + num(*gpu.cloud_per_hour); }, n * *gpu.cloud_per_hour,
        Unit::money);
  if (seconds > 0) {
    cost.gpu_hours = record(
        derivation, kSection, "GPU-hours", "GPUs * total time / 3600",
        [&] { return num(n) + "*" + num(seconds) + "/3600"; }, n * seconds / 3600, Unit::plain);
    if (gpu.cloud_per_hour)
      cost.cloud = record(
          derivation, kSection, "cloud cost (" + gpu.currency + ")", "GPU-hours * hourly price",
          [&] { return num(cost.gpu_hours) + "*" + num(*gpu.cloud_per_hour); },
          cost.gpu_hours * *gpu.cloud_per_hour, Unit::money);
    cost.energy_kwh = record(
        derivation, kSection, "GPU energy", "GPU-hours * power / 1000 (kWh)",
        [&] { return num(cost.gpu_hours) + "*" + num(gpu.power_w) + "/1000"; },
        cost.gpu_hours * gpu.power_w / 1000, Unit::plain);
  }
  return cost;
}

}  // namespace lmf::planner
