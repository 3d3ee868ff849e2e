// Parity with Hugging Face PEFT: an adapter PEFT saved (tests/fixtures/training/<model>_lora,
// made by make_lora_fixtures.py with transformers + PEFT), loaded with load_peft, gives
// PEFT's logits, causal-LM loss and gradients of every lora_A/lora_B, and merging gives
// the logits of PEFT's merge_and_unload. With separate and with fused projections.
#include "lora_test_support.h"

#include <fstream>
#include <tuple>

namespace lmf::torch_backend::testing {
namespace {

namespace fs = std::filesystem;

fs::path adapter_folder(const std::string& model) {
  return fs::path(LMF_TRAINING_FIXTURES_DIR) / (model + "_lora");
}

// A tensor of one of the fixture's expected/*.safetensors files, copied.
torch::Tensor expected(const std::string& model, const std::string& file, const std::string& name) {
  return read_tensor_file(adapter_folder(model) / "expected" / file).at(name);
}

class PeftParity : public BackendTest,
                   public ::testing::WithParamInterface<std::tuple<const char*, bool>> {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    model_name_ = std::get<0>(GetParam());
    if (!fs::exists(adapter_folder(model_name_) / "expected" / "expected.json"))
      GTEST_SKIP() << adapter_folder(model_name_).string()
                   << " is missing: run tests/fixtures/training/make_lora_fixtures.py (torch, "
                      "transformers, peft)";
    model_ = load_model(model_name_, /*fused=*/std::get<1>(GetParam()));
    ids_ = expected(model_name_, "outputs.safetensors", "input_ids");
  }

  std::string model_name_;
  std::unique_ptr<LoadedModel> model_;
  torch::Tensor ids_;
};

TEST_P(PeftParity, LogitsMatchPeft) {
  LoraAdapters adapters = LoraAdapters::load_peft(*model_, adapter_folder(model_name_).string());
  const torch::Tensor want = expected(model_name_, "outputs.safetensors", "logits");
  const torch::Tensor got = logits_without_grad(*model_, ids_);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LE(relative_error(got, want), 1e-4);
  // The adapter matters: the base model's logits are far from PEFT's.
  adapters.detach();
  EXPECT_GT(relative_error(logits_without_grad(*model_, ids_), want), 1e-2);
}

TEST_P(PeftParity, LossAndGradientsMatchPeft) {
  std::ifstream in(adapter_folder(model_name_) / "expected" / "expected.json");
  const double want_loss = nlohmann::json::parse(in)["loss"];
  LoraAdapters adapters = LoraAdapters::load_peft(*model_, adapter_folder(model_name_).string());
  adapters.set_training(true);
  torch::Tensor loss = causal_lm_loss(forward_logits(*model_, ids_), ids_);
  EXPECT_NEAR(loss.item<double>(), want_loss, 1e-5 * want_loss);
  loss.backward();

  const auto want =
      read_tensor_file(adapter_folder(model_name_) / "expected" / "gradients.safetensors");
  const NamedTensors params = adapters.parameters();
  ASSERT_EQ(params.size(), want.size());
  for (const auto& [name, tensor] : params) {
    ASSERT_TRUE(want.count(name)) << name << " has no PEFT gradient";
    ASSERT_TRUE(tensor.grad().defined()) << name;
    EXPECT_LE(relative_error(tensor.grad(), want.at(name)), 1e-4) << name;
  }
}

TEST_P(PeftParity, MergedLogitsMatchPeftMergeAndUnload) {
  LoraAdapters adapters = LoraAdapters::load_peft(*model_, adapter_folder(model_name_).string());
  adapters.merge();
  const torch::Tensor want = expected(model_name_, "outputs.safetensors", "merged_logits");
  EXPECT_LE(relative_error(logits_without_grad(*model_, ids_), want), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Families, PeftParity,
                         ::testing::Combine(::testing::Values("llama3_tiny", "qwen2_tiny"),
                                            ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) +
                                  (std::get<1>(info.param) ? "_fused" : "_separate");
                         });

}  // namespace
}  // namespace lmf::torch_backend::testing
