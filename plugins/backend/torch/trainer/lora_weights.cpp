// LoRA: adapters beside frozen weights; checkpoints and results in PEFT's format.
#include "training/lora.h"
#include "training/peft_folder.h"
#include "save_model.h"
#include "trainer/trainable.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class LoraWeights final : public TrainableWeights {
 public:
  LoraWeights(LoadedModel& model, const LoraSettings& settings, uint64_t seed)
      : model_(model), adapters_(model, settings, seed) {}

  std::vector<NamedParameter> parameters() const override {
    std::vector<NamedParameter> out;
    for (const auto& [name, tensor] : adapters_.parameters()) out.push_back({name, tensor});
    return out;
  }
  void set_training(bool training) override { adapters_.set_training(training); }

  void write_checkpoint(const fs::path& checkpoint) const override {
    adapters_.save_peft((checkpoint / "adapter").string(), model_.folder);
  }

  void read_checkpoint(const fs::path& checkpoint) override {
    const fs::path folder = checkpoint / "adapter";
    std::map<std::string, torch::Tensor> saved = read_peft_tensors(folder);
    torch::NoGradGuard no_grad;
    for (const auto& [name, tensor] : adapters_.parameters()) {
      auto found = saved.find(name);
      if (found == saved.end() || found->second.sizes() != tensor.sizes() ||
          found->second.scalar_type() != tensor.scalar_type())
        sdk::fail(LMF_ERR_DATA, folder.string() + ": tensor " + name + " is missing or does not match the adapters being trained");
      torch::Tensor target = tensor;
      target.copy_(found->second);
    }
  }

  json save_final(const fs::path& output, bool merge) override {
    const fs::path adapter = output / "adapter";
    adapters_.save_peft(adapter.string(), model_.folder);
    json written = {{"adapter", adapter.string()}};
    if (merge) {
      adapters_.merge();
      const fs::path merged = output / "merged";
      save_model(model_, merged.string(), json{{"overwrite", true}});
      written["merged"] = merged.string();
    }
    return written;
  }

  void freeze() override {
    adapters_.set_training(false);
    for (auto& [name, tensor] : adapters_.parameters()) {
      torch::Tensor t = tensor;
      t.mutable_grad() = torch::Tensor();
      t.requires_grad_(false);
    }
  }

 private:
  LoadedModel& model_;
  LoraAdapters adapters_;
};

}  // namespace

std::unique_ptr<TrainableWeights> lora_weights(LoadedModel& model, const LoraSettings& settings,
                                               uint64_t seed) {
  return std::make_unique<LoraWeights>(model, settings, seed);
}

}  // namespace lmf::torch_backend
