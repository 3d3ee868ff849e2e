// Note [One block on the device] (plugins/backend/torch/quantize/block_stage.h): a block
// staged on a calibration device computes what the model's own block computes, and what is
// written into the staged block comes back to the model; the quantize driver with the model
// on the CPU and `calibration.device` cuda (GPU machine) quantizes as it does on the CPU.
#include "driver_support.h"
#include "quantize/block_stage.h"
#include "quantize/quantize_model.h"

#include <lmf/sdk/error.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace lmf::torch_backend::testing {
namespace {

using nlohmann::json;

TEST(BlockStage, StagedBlockComputesAsTheModelsAndStoresBack) {
  auto model = load_exact(fixture("qwen2_tiny"));  // q/k/v biases: staged too
  make_blocks_writable(*model);
  model->decoder->set_fused_attention(true);  // as the stage's one-block decoder (the defaults)
  BlockStage stage(model->config, model->weights, torch::kCPU);
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  const torch::Tensor h = torch::randn({2, 9, model->config.hidden_size});
  const torch::Tensor positions = torch::arange(9, torch::kInt64).expand({2, 9});
  for (int64_t index : {1, 0}) {  // a later block first: the stage holds whichever it was given
    SCOPED_TRACE(index);
    DecoderLayer& staged = stage.load(model->decoder->layer(index));
    EXPECT_TRUE(torch::equal(stage.run(h, positions), model->decoder->block(index, h, positions)));
    EXPECT_NE(staged.q_proj.weight.data_ptr(), model->decoder->layer(index).q_proj.weight.data_ptr());
  }
  DecoderLayer& staged = stage.load(model->decoder->layer(1));
  staged.down_proj.weight.mul_(0.5);
  staged.input_norm.add_(1.0);
  staged.q_proj.bias.zero_();
  const torch::Tensor down = staged.down_proj.weight.clone();
  stage.store(model->decoder->layer(1));
  const DecoderLayer& stored = model->decoder->layer(1);
  EXPECT_TRUE(torch::equal(stored.down_proj.weight, down));
  EXPECT_TRUE(torch::equal(stored.input_norm, staged.input_norm));
  EXPECT_EQ(stored.q_proj.bias.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(model->weights.at("model.layers.1.mlp.down_proj.weight"), down))
      << "the checkpoint's tensor is the block's: saving writes what was stored";
}

class BlockStageDriver : public CalibratedDriverTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    CalibratedDriverTest::SetUp();
    registry_.load_file(LMF_GPTQ_PLUGIN);
  }
};

TEST(BlockStageConfig, CalibrationDeviceIsADeviceName) {
  const json config = {{"quantizer", {{"component", "gptq"}}}, {"output", "out"},
                       {"calibration", {{"shards", "s"}, {"device", "gpu"}}}};
  try {
    QuantizeConfig::from_json(config);
    ADD_FAILURE() << "\"gpu\" was accepted";
  } catch (const sdk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("calibration.device"), std::string::npos) << e.what();
  }
  json good = config;
  good["calibration"]["device"] = "cuda:1";
  EXPECT_EQ(QuantizeConfig::from_json(good).calibration_device, "cuda:1");
}

TEST_F(BlockStageDriver, RefusesACalibrationDeviceThatIsNotThere) {
  auto model = load_exact(fixture("llama3_tiny"));
  QuantizeConfig c = config("gptq", {{"group_size", 32}}, "none");
  c.calibration_device = "cuda:7";
  try {
    quantize_model(*model, c);
    ADD_FAILURE() << "a device that is not there was accepted";
  } catch (const sdk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("calibration.device"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "none"));
}

TEST_P(BlockStageDriver, ModelOnTheCpuCalibratesOnTheGpuAsOnTheCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::string quantizer = GetParam();  // gptq is lent the inputs on the GPU, awq on the CPU
  auto on_cpu = load_exact(fixture("llama3_tiny"));
  const json whole = quantize_model(*on_cpu, config(quantizer, {{"group_size", 32}}, "cpu"));
  auto staged = load_exact(fixture("llama3_tiny"));
  QuantizeConfig on_gpu = config(quantizer, {{"group_size", 32}}, "staged");
  on_gpu.calibration_device = "cuda";
  const json summary = quantize_model(*staged, on_gpu);
  EXPECT_TRUE(services_.logged("each block calibrates on cuda"));
  EXPECT_EQ(summary["modules"], whole["modules"]);
  EXPECT_EQ(summary["input_scale_folds"], whole["input_scale_folds"]);
  EXPECT_NEAR(summary["mean_relative_weight_error"].get<double>(),
              whole["mean_relative_weight_error"].get<double>(),
              0.02 * whole["mean_relative_weight_error"].get<double>());
  EXPECT_FALSE(staged->decoder->layer(0).q_proj.weight.is_cuda()) << "the model stays where it was";

  // The GPU's float32 rounding moves a few of AWQ's discrete scale choices and 4-bit
  // roundings (GPTQ's too), so the two quantized models differ by a small part of what
  // quantizing costs.
  const torch::Tensor ids = calibration_ids(on_cpu->config.vocab_size);
  const torch::Tensor reference = logits_of(*load_exact(fixture("llama3_tiny")), ids);
  const torch::Tensor a = logits_of(*load_exact((dir_.path() / "cpu").string()), ids);
  const torch::Tensor b = logits_of(*load_exact((dir_.path() / "staged").string()), ids);
  auto error = [](const torch::Tensor& got, const torch::Tensor& want) {
    return ((got - want).square().mean() / want.square().mean()).item<double>();
  };
  const double quantization_error = error(a, reference);
  EXPECT_LT(error(b, reference), 1.1 * quantization_error);
  EXPECT_LT(error(b, a), 0.1 * quantization_error);
}

INSTANTIATE_TEST_SUITE_P(Quantizers, BlockStageDriver, ::testing::Values("awq", "gptq"));

}  // namespace
}  // namespace lmf::torch_backend::testing
