#include "core/planner/fit_search.h"

#include "core/planner/units.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>
#include <vector>

namespace lmf::planner {
namespace {

std::vector<int> tensor_degrees(const ModelInfo& m, const PlanSettings& s) {
  if (s.parallel.tp > 0) return {s.parallel.tp};
  std::vector<int> degrees;
  for (int tp = 1; tp <= s.max_tp; ++tp) {
    if (!m.spec.has_architecture() && (tp & (tp - 1)) != 0) continue;  // bare: powers of two
    if (tp_problem(m.spec, s.method, tp).empty()) degrees.push_back(tp);
  }
  return degrees;
}

int expert_degree(const ModelInfo& m, const PlanSettings& s, int dp) {
  if (s.parallel.ep > 0) return s.parallel.ep;
  if (!m.spec.is_moe() || !is_training(s.method)) return 1;
  return std::gcd(dp, static_cast<int>(m.spec.moe.routed_experts));
}

}  // namespace

Evaluation evaluate(const ModelInfo& m, const PlanSettings& s, const Layout& layout,
                    const GpuSpec& gpu, Derivation* derivation) {
  Evaluation e;
  e.layout = layout;
  e.memory = estimate_memory(m, s, layout, derivation);
  e.capacity = gpu.capacity_bytes();
  e.fits = e.memory.total() <= e.capacity;
  e.time = estimate_time(m, s, layout, gpu, e.memory, derivation);
  e.cost = estimate_cost(gpu, layout.gpus(), e.time.total_seconds, derivation);
  return e;
}

GpuResult fewest_gpus(const ModelInfo& m, const PlanSettings& s, const GpuSpec& gpu) {
  GpuResult result;
  result.gpu = gpu;
  const Parallel& fixed = s.parallel;
  const std::int64_t max_pp =
      s.max_pp > 0 ? s.max_pp : (m.spec.has_architecture() ? m.spec.layers : 64);
  const std::vector<int> tps = tensor_degrees(m, s);
  const int first = fixed.gpus > 0 ? fixed.gpus : 1;
  const int last = fixed.gpus > 0 ? fixed.gpus : s.max_gpus;
  const double capacity = gpu.capacity_bytes();
  double closest = -1;
  Layout closest_layout;

  for (int n = first; n <= last; ++n) {
    std::optional<Evaluation> best;
    // Faster (more tokens/s, to a relative 1e-9: layouts of equal speed tie), then less
    // model parallelism, then the shorter pipeline.
    auto better = [](const Evaluation& a, const Evaluation& b) {
      const double ta = a.time.tokens_per_second, tb = b.time.tokens_per_second;
      if (std::fabs(ta - tb) > 1e-9 * std::max(ta, tb)) return ta > tb;
      return std::tuple(a.layout.tp * a.layout.pp, a.layout.pp, a.layout.tp) <
             std::tuple(b.layout.tp * b.layout.pp, b.layout.pp, b.layout.tp);
    };
    for (int tp : tps) {
      if (n % tp != 0) continue;
      const int rest = n / tp;
      for (int pp = 1; pp <= rest; ++pp) {
        if (rest % pp != 0 || (fixed.pp > 0 && pp != fixed.pp) || pp > max_pp) continue;
        const int dp = rest / pp;
        if (fixed.dp > 0 && dp != fixed.dp) continue;
        if (!is_training(s.method) && fixed.dp == 0 && fixed.gpus == 0 && dp > 1) continue;
        if (!pp_problem(m.spec, pp).empty()) continue;
        const Layout layout{tp, pp, dp, expert_degree(m, s, dp)};
        if (!ep_problem(m.spec, layout.ep, dp).empty()) continue;
        const MemoryEstimate memory = estimate_memory(m, s, layout);
        if (memory.total() > capacity) {
          if (closest < 0 || memory.total() < closest) {
            closest = memory.total();
            closest_layout = layout;
          }
          continue;
        }
        Evaluation evaluation = evaluate(m, s, layout, gpu);
        if (!best || better(evaluation, *best)) best = std::move(evaluation);
      }
    }
    if (best) {
      result.best = std::move(best);
      return result;
    }
  }
  if (closest < 0) {
    result.reason = "no layout of " +
                    (fixed.gpus > 0 ? std::to_string(fixed.gpus) + " GPUs"
                                    : "up to " + std::to_string(s.max_gpus) + " GPUs") +
                    " is admissible with the degrees given";
  } else {
    result.reason = "does not fit: the least memory per GPU is " + format_bytes(closest) + " (" +
                    closest_layout.describe() + ") for " + format_bytes(capacity) +
                    (fixed.gpus > 0 ? "" : "; allow more GPUs with --max-gpus");
  }
  return result;
}

}  // namespace lmf::planner
