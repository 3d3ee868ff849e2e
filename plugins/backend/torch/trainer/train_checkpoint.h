// Training checkpoints: everything a resumed run needs to continue exactly as the
// uninterrupted run would have (Note [Resuming bit for bit]).
//
//   OUTPUT/checkpoints/step-00000200/
//     model/ or adapter/      the trained weights, as a model folder or a PEFT adapter
//     optimizer.safetensors   the optimizer's state tensors
//     trainer_state.json      step, data position, tokens seen, the run's fingerprint
//
// Note [Resuming bit for bit]: weights, optimizer moments and master weights are saved
// exactly (safetensors, no conversion); the schedule is a function of the step; the data
// order is a function of the seed and the epoch, so its position is two integers; and
// every random draw (dropout) comes from a generator seeded from (seed, step, micro-batch)
// at the start of each micro-batch, so no generator state needs saving.
//
// A checkpoint is written under a temporary name and renamed into place: a crash or a
// full disk leaves the previous checkpoints as they were.
#pragma once

#include "trainer/batches.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <optional>

namespace lmf::torch_backend {

struct TrainProgress {
  int64_t step = 0;    // optimizer steps done
  ExampleOrder::Position data;
  int64_t tokens = 0;  // trained tokens so far
  double seconds = 0;  // training time so far (for rates across resumes)
};

struct CheckpointInfo {
  std::filesystem::path folder;
  TrainProgress progress;
  nlohmann::json fingerprint;
};

// Writes checkpoint `progress.step` under `output`/checkpoints: `write_weights(folder)`
// and `write_optimizer(file)` fill it; then the oldest beyond `keep` are removed.
CheckpointInfo save_checkpoint(const std::filesystem::path& output, const TrainProgress& progress,
                               const nlohmann::json& fingerprint, int64_t keep,
                               const std::function<void(const std::filesystem::path&)>& write_weights,
                               const std::function<void(const std::filesystem::path&)>& write_optimizer);

// The checkpoint with the highest step under `output`/checkpoints, if any.
std::optional<CheckpointInfo> latest_checkpoint(const std::filesystem::path& output);

}  // namespace lmf::torch_backend
