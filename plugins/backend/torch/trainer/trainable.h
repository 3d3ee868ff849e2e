// What a training run updates — every weight of the model (full fine-tuning) or LoRA
// adapters beside frozen weights — and how each is checkpointed and saved at the end.
#pragma once

#include "loaded_model.h"
#include "training/adamw.h"
#include "training/lora_settings.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <vector>

namespace lmf::torch_backend {

class TrainableWeights {
 public:
  virtual ~TrainableWeights() = default;

  // The tensors the optimizer updates (leaves that require grad), by checkpoint name.
  virtual std::vector<NamedParameter> parameters() const = 0;
  // Dropout (LoRA's) on while training, off while evaluating.
  virtual void set_training(bool training) = 0;
  // The weights into a checkpoint folder, and back (a resumed run).
  virtual void write_checkpoint(const std::filesystem::path& checkpoint) const = 0;
  virtual void read_checkpoint(const std::filesystem::path& checkpoint) = 0;
  // The result of the run under `output` (model/, adapter/, merged/); what was written.
  virtual nlohmann::json save_final(const std::filesystem::path& output, bool merge) = 0;
  // Stops tracking grads, so that generation afterwards builds no autograd graph.
  virtual void freeze() = 0;

  int64_t parameter_count() const;
};

// Every weight of `model` (its mapped tensors get their own memory first).
std::unique_ptr<TrainableWeights> full_weights(LoadedModel& model);
// LoRA adapters on the modules `settings` targets, initialised from `seed`.
std::unique_ptr<TrainableWeights> lora_weights(LoadedModel& model, const LoraSettings& settings,
                                               uint64_t seed);

}  // namespace lmf::torch_backend
