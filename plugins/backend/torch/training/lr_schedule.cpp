#include "training/lr_schedule.h"

#include "config_fields.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

namespace lmf::torch_backend {

// transformers' lr lambdas, with their int-to-float conversions and max(1, …) guards.
double LrSchedule::lr_at(int64_t step) const {
  if (step < warmup_steps)
    return peak_lr *
           (static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_steps)));
  const double decay_steps = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  double factor = 1.0;
  if (decay == LrDecay::linear) {
    factor = std::max(
        0.0, static_cast<double>(total_steps - step) / decay_steps);  // then stays at the floor
  } else if (decay == LrDecay::cosine) {
    const double progress = static_cast<double>(step - warmup_steps) / decay_steps;
    factor = 0.5 * (1.0 + std::cos(std::numbers::pi * 0.5 * 2.0 * progress));
  }
  if (decay != LrDecay::constant)
    factor = std::max(0.0, factor * (1 - min_lr_ratio) + min_lr_ratio);
  return peak_lr * factor;
}

LrSchedule LrSchedule::from_json(const nlohmann::json& object, double peak_lr, int64_t total_steps,
                                 const std::string& origin) {
  if (!object.is_object())
    sdk::fail(LMF_ERR_DATA, origin + ": must be a JSON object, not " + object.dump());
  FieldReader fields(object, origin);
  const std::set<std::string> known = {"type", "warmup_steps", "warmup_ratio", "min_lr_ratio"};
  for (const auto& [key, value] : object.items())
    if (!known.count(key))
      fields.bad(
          key, "is not a schedule setting (known: min_lr_ratio, type, warmup_ratio, warmup_steps)");
  if (total_steps < 1)
    sdk::fail(LMF_ERR_DATA, origin + ": the run has " + std::to_string(total_steps) +
                                " optimizer steps; a schedule needs at least 1");

  LrSchedule s;
  s.peak_lr = peak_lr;
  s.total_steps = total_steps;
  const std::string type = fields.string_or("type", "cosine");
  if (type == "linear")
    s.decay = LrDecay::linear;
  else if (type == "cosine")
    s.decay = LrDecay::cosine;
  else if (type == "constant")
    s.decay = LrDecay::constant;
  else
    fields.bad("type", "is \"" + type + "\"; expected linear, cosine or constant");

  if (fields.present("warmup_steps") && fields.present("warmup_ratio"))
    fields.bad("warmup_ratio", "is given with warmup_steps; give one of them");
  if (fields.present("warmup_steps")) {
    const nlohmann::json& value = object.at("warmup_steps");
    if (!value.is_number_integer() || value.get<int64_t>() < 0)
      fields.bad("warmup_steps", "must be an integer ≥ 0, not " + value.dump());
    s.warmup_steps = value.get<int64_t>();
  }
  const double ratio = fields.number_or("warmup_ratio", 0.0);
  if (ratio < 0 || ratio > 1)
    fields.bad("warmup_ratio", "must be in [0, 1], not " + object.at("warmup_ratio").dump());
  if (fields.present("warmup_ratio"))
    s.warmup_steps = static_cast<int64_t>(std::ceil(static_cast<double>(total_steps) * ratio));

  s.min_lr_ratio = fields.number_or("min_lr_ratio", 0.0);
  if (s.min_lr_ratio < 0 || s.min_lr_ratio > 1)
    fields.bad("min_lr_ratio", "must be in [0, 1], not " + object.at("min_lr_ratio").dump());
  if (s.decay == LrDecay::constant && s.min_lr_ratio != 0)
    fields.bad("min_lr_ratio", "has no effect with type constant (the lr never decays)");
  return s;
}

}  // namespace lmf::torch_backend
