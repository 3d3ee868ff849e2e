// Note [Packed weights] on the CPU: a quantized checkpoint loaded with packed_weights "on"
// keeps its modules in the plugin's layout and computes through the plugin's kernels. A
// prompt (more tokens than the plugin's matmul_tokens) dequantizes into scratch and must
// give exactly the logits of the dequantized-on-load model; a few tokens go through the
// plugin's matmul and must agree to float32 rounding; gradients reach the inputs as through
// the dense model. The refusals name what is missing.
#include "driver_support.h"
#include "generation.h"
#include "quantize/packed_linear.h"
#include "quantize/quantize_model.h"
#include "save_model.h"
#include "tensor_io.h"
#include "trainer/train_config.h"
#include "trainer/trainer.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend::testing {
namespace {

class PackedWeights : public CalibratedDriverTest,
                      public ::testing::WithParamInterface<const char*> {
 protected:
  // Quantizes the llama fixture with the parameter's quantizer, 4 bits in groups of 32.
  std::string quantized_folder() {
    const std::string quantizer = GetParam();
    const nlohmann::json settings =
        quantizer == std::string("rtn") ? nlohmann::json{{"bits", 4}, {"group_size", 32}, {"sym", false}}
                                        : nlohmann::json{{"group_size", 32}};
    auto model = load_exact(fixture("llama3_tiny"));
    quantize_model(*model, config(quantizer, settings, quantizer + "4"));
    return (dir_.path() / (quantizer + "4")).string();
  }

  static std::unique_ptr<LoadedModel> load(const std::string& folder, const std::string& packed,
                                           const std::string& dtype = "float32") {
    LoadOptions options;
    options.device = "cpu";
    options.dtype = dtype;
    options.fused_attention = false;
    options.tokenizer = "";
    options.packed_weights = packed;
    return LoadedModel::load(folder, options);
  }
};

TEST_P(PackedWeights, ComputeWhatTheDequantizedModelComputes) {
  const std::string folder = quantized_folder();
  auto dense = load(folder, "off");
  auto packed = load(folder, "on");
  EXPECT_FALSE(dense->weights.has_packed());
  ASSERT_TRUE(packed->weights.has_packed());
  const std::string q = "model.layers.0.self_attn.q_proj";
  EXPECT_NE(packed->weights.packed(q), nullptr);
  EXPECT_FALSE(packed->weights.contains(q + ".weight"));
  EXPECT_FALSE(packed->weights.contains(q + ".qweight")) << "the loaded copy was dropped";
  EXPECT_TRUE(dense->weights.contains(q + ".weight"));
  // 4-bit codes plus group scales: under a quarter of the float32 weight.
  EXPECT_LT(packed->weights.packed(q)->bytes(), dense->weights.at(q + ".weight").nbytes() / 4);
  EXPECT_LT(packed->weights.bytes(), dense->weights.bytes());
  EXPECT_TRUE(packed->weights.unused().empty());

  // A prompt of 2 × 32 tokens: dequantized into scratch, the same float32 matmuls.
  const torch::Tensor prompt = calibration_ids(dense->config.vocab_size).slice(0, 0, 2);
  EXPECT_TRUE(torch::equal(logits_of(*packed, prompt), logits_of(*dense, prompt)));

  // Five tokens: the plugin's matmul, its float32 sums in another order.
  const torch::Tensor few = prompt.slice(1, 0, 5).slice(0, 0, 1);
  const torch::Tensor want = logits_of(*dense, few);
  const torch::Tensor got = logits_of(*packed, few);
  EXPECT_FALSE(torch::equal(got, torch::zeros_like(got)));
  EXPECT_TRUE(torch::allclose(got, want, 1e-4, 1e-4))
      << "max difference " << (got - want).abs().max().item<double>();
  EXPECT_TRUE(torch::equal(got.argmax(-1), want.argmax(-1)));
}

TEST_P(PackedWeights, AutoStaysDenseOnTheCpuAndOnRefusesWhatThePluginCannotRun) {
  const std::string folder = quantized_folder();
  EXPECT_FALSE(load(folder, "auto")->weights.has_packed()) << "auto packs on CUDA only";
  try {
    load(folder, "on", "bfloat16");
    FAIL() << "a bfloat16 CPU model was packed";
  } catch (const sdk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("packed_weights on"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
  }
}

// A save would leave the packed modules' weights out: refused, nothing written.
TEST_P(PackedWeights, AreNotSavedAsIfTheModelHadNoProjections) {
  auto packed = load(quantized_folder(), "on");
  const std::filesystem::path out = dir_.path() / "saved";
  try {
    save_model(*packed, out.string(), nlohmann::json::object());
    FAIL() << "a packed model was saved";
  } catch (const sdk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("packed_weights off"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(out));
}

// On CUDA (the GPU machine; skipped elsewhere), where "auto" packs: the rtn plugin's CUDA
// kernels inside the decoder, in fp32 and bf16, with the decode steps captured as CUDA
// graphs — in fp32 the same greedy tokens as the dequantized model, and logits within the
// kernels' summation order (fp32) or bf16 rounding.
TEST_P(PackedWeights, GenerateOnCudaAsTheDequantizedModelDoes) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  if (GetParam() != std::string("rtn")) GTEST_SKIP() << "the awq plugin has no CUDA kernels";
  const std::string folder = quantized_folder();
  for (const char* dtype : {"float32", "bfloat16"}) {
    LoadOptions options;
    options.device = "cuda";
    options.dtype = dtype;
    options.tokenizer = "";
    options.packed_weights = "off";
    auto dense = LoadedModel::load(folder, options);
    options.packed_weights = "auto";
    auto packed = LoadedModel::load(folder, options);
    ASSERT_TRUE(packed->weights.has_packed()) << dtype;
    const torch::Tensor prompt = calibration_ids(dense->config.vocab_size).slice(0, 0, 1).slice(1, 0, 12);
    auto greedy = [&](LoadedModel& model) {
      std::vector<GenerationRequest> requests(1);
      requests[0].prompt.assign(prompt.data_ptr<int64_t>(), prompt.data_ptr<int64_t>() + prompt.numel());
      requests[0].sampling.max_new_tokens = 16;
      requests[0].sampling.ignore_eos = true;
      return generate(*model.decoder, requests, {}, {}).front().ids;
    };
    // In bf16 the dequantized model rounds its weights to bf16 and the kernels do not, and
    // the tiny random model's logits are close enough for that to change a greedy choice:
    // there the generation must run (graphs and all) and the logits agree, below.
    const std::vector<int64_t> packed_ids = greedy(*packed);
    EXPECT_EQ(packed_ids.size(), 16u) << dtype;
    if (std::string(dtype) == "float32") EXPECT_EQ(packed_ids, greedy(*dense));
    const torch::Tensor few = prompt.slice(1, 0, 4).to(torch::kCUDA);
    torch::NoGradGuard no_grad;
    const torch::Tensor positions = torch::arange(4, few.options()).unsqueeze(0);
    auto logits = [&](LoadedModel& model) {
      return model.decoder->logits(model.decoder->hidden_states(few, ForwardContext{positions, {}, nullptr, 4})).cpu();
    };
    const torch::Tensor want = logits(*dense), got = logits(*packed);
    const double relative = ((got - want).norm() / want.norm()).item<double>();
    EXPECT_LT(relative, std::string(dtype) == "float32" ? 1e-5 : 2e-2) << dtype;
  }
}

// Note [Gradient through packed weights]: the input's gradient through a packed block is
// the dense block's (dL/dx = dL/dy · W with the same W), for a few tokens (the plugin's
// matmul forward) and a prompt (dequantized forward).
TEST_P(PackedWeights, PassTheInputsGradientAsTheDenseModelDoes) {
  const std::string folder = quantized_folder();
  auto dense = load(folder, "off");
  auto packed = load(folder, "on");
  for (int64_t tokens : {4, 24}) {
    const torch::Tensor ids = calibration_ids(dense->config.vocab_size).slice(0, 0, 1).slice(1, 0, tokens);
    const torch::Tensor positions = torch::arange(tokens, torch::kInt64).unsqueeze(0);
    auto input_grad = [&](LoadedModel& model) {
      torch::Tensor h = model.decoder->embed(ids).detach().requires_grad_(true);
      model.decoder->block(1, model.decoder->block(0, h, positions), positions).square().sum().backward();
      return h.grad();
    };
    const torch::Tensor want = input_grad(*dense);
    const torch::Tensor got = input_grad(*packed);
    ASSERT_TRUE(got.defined()) << tokens << " tokens";
    EXPECT_GT(got.abs().max().item<double>(), 0.0);
    // The forward's float32 sums differ in order (few tokens), so the output does by ~1e-6
    // of its size, and the gradient of its square likewise.
    const double relative = ((got - want).norm() / want.norm()).item<double>();
    EXPECT_LT(relative, 1e-5) << tokens << " tokens";
  }
}

// Note [Quantized on load] and QLoRA: the fixture quantized to NF4 as it loads, LoRA
// adapters trained beside the packed base — the loss falls, the base stays as quantized,
// the adapters save in PEFT's format.
class QuantizedOnLoad : public CalibratedDriverTest {
 protected:
  void SetUp() override {
    CalibratedDriverTest::SetUp();
    registry_.load_file(LMF_NF4_PLUGIN);
  }

  static std::unique_ptr<LoadedModel> load_nf4(const std::string& dtype = "float32") {
    LoadOptions options;
    options.device = "cpu";
    options.dtype = dtype;
    options.fused_attention = false;
    options.tokenizer = "";
    options.quantize_on_load = {{"quantizer", "nf4"}, {"config", nlohmann::json::object()}};
    return LoadedModel::load(fixture("llama3_tiny"), options);
  }
};

TEST_F(QuantizedOnLoad, KeepsEveryProjectionPackedAndTrainsLoraBesideIt) {
  auto model = load_nf4();
  ASSERT_FALSE(services_.tasks.empty());
  EXPECT_EQ(services_.tasks.front().label, "quantize on load (nf4)");
  EXPECT_EQ(services_.tasks.front().done, 2 * 7) << "2 blocks × 7 projections, shown as progress";
  const std::string q = "model.layers.0.self_attn.q_proj";
  ASSERT_NE(model->weights.packed(q), nullptr);
  EXPECT_FALSE(model->weights.contains(q + ".weight"));
  EXPECT_TRUE(model->weights.contains("model.embed_tokens.weight"));
  const auto* packed = dynamic_cast<const PackedLinear*>(model->weights.packed(q).get());
  ASSERT_NE(packed, nullptr);
  const torch::Tensor base_before = packed->dense(torch::kFloat32);
  // NF4 of the fixture's weights: close to them, not equal.
  auto full = load_exact(fixture("llama3_tiny"));
  const torch::Tensor original = full->weights.at(q + ".weight");
  EXPECT_FALSE(torch::equal(base_before, original));
  EXPECT_LT(((base_before - original).norm() / original.norm()).item<double>(), 0.15);

  lmf::cli_test::write_random_shards(dir_.path() / "learnable", 16, 24, 64);  // ids below 16: learnable
  const nlohmann::json config = {{"method", "qlora"},
                                 {"data", {{"shards", (dir_.path() / "learnable").string()}}},
                                 {"output", (dir_.path() / "qlora").string()},
                                 {"seq_length", 16}, {"micro_batch", 4}, {"max_steps", 30}, {"seed", 3},
                                 {"optimizer", {{"lr", 1e-2}}}, {"schedule", {{"type", "constant"}}},
                                 {"lora", {{"rank", 4}, {"alpha", 8}}}};
  run_training(*model, TrainConfig::from_json(config));
  std::vector<double> losses;
  for (const auto& metric : services_.metrics)
    if (metric.name == "train/loss") losses.push_back(metric.value);
  ASSERT_EQ(losses.size(), 30u);
  EXPECT_LT(losses.back(), losses.front() - 0.5);
  EXPECT_TRUE(torch::equal(packed->dense(torch::kFloat32), base_before)) << "the packed base is frozen";
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "qlora" / "adapter" / "adapter_config.json"));
  EXPECT_EQ(read_tensor_file(dir_.path() / "qlora" / "adapter" / "adapter_model.safetensors").size(), 28u);
}

TEST_F(QuantizedOnLoad, RefusalsSayWhy) {
  try {
    load_nf4("bfloat16");
    FAIL() << "a bfloat16 CPU model was packed";
  } catch (const sdk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
  }
  try {
    TrainConfig::from_json({{"method", "qlora"}, {"data", {{"shards", "x"}}}, {"output", "y"},
                            {"max_steps", 1}, {"merge_lora", true}});
    FAIL() << "merge_lora was accepted with qlora";
  } catch (const sdk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("merge_lora"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Quantizers, PackedWeights, ::testing::Values("rtn", "awq"));

}  // namespace
}  // namespace lmf::torch_backend::testing
