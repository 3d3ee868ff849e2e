// One training run on a loaded model (docs/training.md): examples → micro-batches →
// loss → gradients (accumulated) → clipping → AdamW with the schedule's learning rate;
// evaluation, metrics, checkpoints and resumption around that loop.
#pragma once

#include "loaded_model.h"
#include "trainer/train_config.h"

#include <nlohmann/json.hpp>

namespace lmf::torch_backend {

// Trains `model` in place (its weights, or LoRA adapters attached to it, which stay
// attached — merged when `merge_lora`) and writes the results under config.output.
// Returns the run's summary. Throws naming the field, file or step on bad input, a
// non-finite loss (after which the last good checkpoint is what remains), cancellation
// (after saving a checkpoint to resume from).
nlohmann::json run_training(LoadedModel& model, const TrainConfig& config);

}  // namespace lmf::torch_backend
