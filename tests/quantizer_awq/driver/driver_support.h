// What the driver tests share: a host whose registry holds the awq and rtn plugins (the
// quantize driver finds its quantizer through the host API, as in `lmforge quantize`), the
// fixture models loaded for exact fp32 parity, their logits, and calibration shards.
#pragma once

#include "backend_test_support.h"
#include "core/plugin/loaded_plugin.h"
#include "core/plugin/registry.h"
#include "quantize/quantize_config.h"
#include "tests/hosts/random_shards.h"
#include "tests/support/recording_services.h"
#include "tests/support/temp_dir.h"
#include "trainer/training_examples.h"

#include <lmf/sdk/host.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lmf::torch_backend::testing {

// Logits [B, T, vocab] of `ids` [B, T], no padding, no cache.
inline torch::Tensor logits_of(LoadedModel& model, const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  const int64_t steps = ids.size(1);
  const torch::Tensor positions = torch::arange(steps, torch::kInt64).expand({ids.size(0), steps});
  return model.decoder->logits(
      model.decoder->hidden_states(ids, ForwardContext{positions, {}, nullptr, steps}));
}

// fp32 on the CPU with eager attention and separate projections (the quantize driver's
// requirement), from any folder.
inline std::unique_ptr<LoadedModel> load_exact(const std::string& folder) {
  LoadOptions options;
  options.device = "cpu";
  options.dtype = "float32";
  options.fused_attention = false;
  options.fuse_projections = "off";
  options.tokenizer = "";
  return LoadedModel::load(folder, options);
}

// The blocks' weights get memory of their own (the checkpoint is mapped read-only), as the
// quantize driver does before it folds or replaces any.
inline void make_blocks_writable(LoadedModel& model) {
  std::vector<std::string> names;
  for (const std::string& name : model.weights.names())
    if (name.rfind("model.layers.", 0) == 0) names.push_back(name);
  model.weights.make_writable(names);
}

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.load_file(LMF_AWQ_PLUGIN);
    registry_.load_file(LMF_RTN_PLUGIN);
    host_.services = &services_;
    host_.registry = &registry_;
    sdk::g_host_context = {lmf::plugin::host_api(), &host_};
  }
  void TearDown() override { sdk::g_host_context = {}; }

  lmf::testing::RecordingServices services_;
  lmf::plugin::PluginRegistry registry_{services_};
  lmf_host host_{};
};

// DriverTest with random calibration shards in a temporary folder and quantize configs
// that read them.
class CalibratedDriverTest : public DriverTest {
 protected:
  static constexpr int64_t kSamples = 16, kSeqLength = 32;

  void SetUp() override {
    DriverTest::SetUp();
    lmf::cli_test::write_random_shards(shards(), 128, 24, 40);
  }
  std::filesystem::path shards() const { return dir_.path() / "shards"; }

  QuantizeConfig config(const std::string& quantizer, nlohmann::json quantizer_config,
                        const std::string& output) const {
    QuantizeConfig c;
    c.quantizer = quantizer;
    c.quantizer_config = std::move(quantizer_config);
    c.output = (dir_.path() / output).string();
    c.calibration_shards = shards().string();
    c.samples = kSamples;
    c.seq_length = kSeqLength;
    c.batch = 4;
    return c;
  }

  // The calibration blocks the driver takes (every one of them, as samples = blocks here).
  torch::Tensor calibration_ids(int64_t vocab) const {
    std::unique_ptr<ExampleSet> blocks =
        token_blocks(shards().string(), "train", kSeqLength, vocab);
    std::vector<int64_t> ids;
    for (int64_t s = 0; s < kSamples; ++s) {
      const std::vector<int64_t> block = blocks->at(s * blocks->size() / kSamples).front().ids;
      ids.insert(ids.end(), block.begin(), block.end());
    }
    return torch::tensor(ids, torch::kInt64).view({kSamples, kSeqLength});
  }

  lmf::testing::TempDir dir_;
};

}  // namespace lmf::torch_backend::testing
