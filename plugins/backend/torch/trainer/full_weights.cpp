// Full fine-tuning: every tensor of the checkpoint is a parameter.
#include "save_model.h"
#include "trainer/trainable.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FullWeights final : public TrainableWeights {
 public:
  explicit FullWeights(LoadedModel& model) : model_(model) {
    const std::vector<std::string>& names = model.weights.names();
    model.weights.make_writable(names);
    for (const std::string& name : names) {
      torch::Tensor tensor = model.weights.at(name);
      if (!tensor.is_leaf() || tensor.is_view())
        sdk::fail(LMF_ERR_UNSUPPORTED, "train: weight " + name + " is a view of a fused matrix; load with fuse_projections off for full fine-tuning");
      tensor.requires_grad_(true);
      parameters_.push_back({name, tensor});
    }
  }

  std::vector<NamedParameter> parameters() const override { return parameters_; }
  void set_training(bool) override {}

  void write_checkpoint(const fs::path& checkpoint) const override {
    save_model(model_, (checkpoint / "model").string(), json{{"overwrite", true}});
  }

  void read_checkpoint(const fs::path& checkpoint) override {
    const fs::path folder = checkpoint / "model";
    Weights saved = Weights::load(folder.string(), torch::kCPU, std::nullopt);
    torch::NoGradGuard no_grad;
    for (NamedParameter& p : parameters_) {
      const torch::Tensor& value = saved.at(p.name);
      if (value.sizes() != p.tensor.sizes() || value.scalar_type() != p.tensor.scalar_type())
        sdk::fail(LMF_ERR_DATA, folder.string() + ": tensor " + p.name + " does not match the model being trained");
      p.tensor.copy_(value);
    }
  }

  json save_final(const fs::path& output, bool) override {
    const fs::path folder = output / "model";
    save_model(model_, folder.string(), json{{"overwrite", true}});
    return {{"model", folder.string()}};
  }

  void freeze() override {
    for (NamedParameter& p : parameters_) {
      p.tensor.mutable_grad() = torch::Tensor();
      p.tensor.requires_grad_(false);
    }
  }

 private:
  LoadedModel& model_;
  std::vector<NamedParameter> parameters_;
};

}  // namespace

int64_t TrainableWeights::parameter_count() const {
  int64_t count = 0;
  for (const NamedParameter& p : parameters()) count += p.tensor.numel();
  return count;
}

std::unique_ptr<TrainableWeights> full_weights(LoadedModel& model) {
  return std::make_unique<FullWeights>(model);
}

}  // namespace lmf::torch_backend
