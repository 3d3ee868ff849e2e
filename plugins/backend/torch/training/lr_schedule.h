// The learning rate of each optimizer step: linear warm-up, then linear or cosine decay
// or a constant, optionally down to a floor; as transformers' schedulers compute it.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace lmf::torch_backend {

enum class LrDecay {
  linear,    // get_linear_schedule_with_warmup
  cosine,    // get_cosine_schedule_with_warmup (half a cycle); with a floor, cosine_with_min_lr
  constant,  // get_constant_schedule_with_warmup
};

struct LrSchedule {
  double peak_lr = 3e-5;
  LrDecay decay = LrDecay::cosine;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  // After warm-up the lr falls to peak_lr · min_lr_ratio instead of 0: the decay factor
  // f becomes r + (1 − r)·f (transformers' min_lr_rate of cosine_with_min_lr; applied the
  // same way to linear, where transformers has no floor).
  double min_lr_ratio = 0.0;

  // The learning rate of optimizer step `step`, counted from 0 as torch's LambdaLR
  // counts: the first step uses lr_at(0) (0 while warming up), step k uses lr_at(k).
  double lr_at(int64_t step) const;

  // {"type": "linear" | "cosine" | "constant", "warmup_steps": N | "warmup_ratio": x,
  //  "min_lr_ratio": r}, each optional (cosine, no warm-up, no floor). warmup_ratio gives
  // ceil(total_steps · x) steps, as transformers. Errors name `origin` and the field.
  static LrSchedule from_json(const nlohmann::json& object, double peak_lr, int64_t total_steps,
                              const std::string& origin = "train: schedule");
};

}  // namespace lmf::torch_backend
