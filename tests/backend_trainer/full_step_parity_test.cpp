// One full fine-tuning step against transformers + torch.optim.AdamW (fixtures made by
// tests/fixtures/training/make_full_step_fixtures.py on the GPU machine): the same loss,
// the same gradient for every weight, the same weights after the update.
#include "trainer/batches.h"
#include "trainer/step_loss.h"
#include "trainer/trainable.h"
#include "trainer/training_examples.h"
#include "trainer_test_support.h"
#include "tensor_io.h"
#include "training/adamw.h"

namespace lmf::torch_backend::testing {
namespace {

std::filesystem::path step_fixture(const std::string& model) {
  return std::filesystem::path(LMF_BACKEND_FIXTURES_DIR) / ".." / "training" / "full_step" / (model + ".safetensors");
}

class FullStepParityTest : public TrainerTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(FullStepParityTest, LossGradientsAndAdamWUpdateMatchTransformers) {
  const std::string name = GetParam();
  if (!std::filesystem::exists(step_fixture(name)))
    GTEST_SKIP() << "run tests/fixtures/training/make_full_step_fixtures.py on the GPU machine";
  auto expected = read_tensor_file(step_fixture(name));
  auto model = load_fixture(name);
  auto trainable = full_weights(*model);

  const torch::Tensor ids = expected.at("input_ids");
  Batch batch;
  batch.ids = ids;
  std::vector<torch::Tensor> rows;
  for (int64_t r = 0; r < ids.size(0); ++r) {
    std::vector<int64_t> row(ids[r].data_ptr<int64_t>(), ids[r].data_ptr<int64_t>() + ids.size(1));
    rows.push_back(torch::tensor(shifted_labels(row, std::vector<bool>(row.size(), true)), torch::kInt64));
  }
  batch.labels = torch::stack(rows);
  MicroBatchLoss loss = language_model_loss(*model->decoder, batch, /*chunk_rows=*/7);
  torch::Tensor mean = loss.sum / loss.tokens.to(torch::kFloat32);
  mean.backward();
  EXPECT_NEAR(mean.item<double>(), expected.at("loss").item<double>(), 1e-5 * expected.at("loss").item<double>());

  std::vector<NamedParameter> parameters = trainable->parameters();
  for (const NamedParameter& p : parameters) {
    const torch::Tensor& want = expected.at("grad." + p.name);
    ASSERT_TRUE(p.tensor.grad().defined()) << p.name;
    EXPECT_LE(relative_error(p.tensor.grad(), want), 1e-4) << p.name;
  }

  AdamWSettings settings;
  settings.lr = 1e-2;
  settings.beta1 = 0.9;
  settings.beta2 = 0.95;
  settings.eps = 1e-8;
  settings.weight_decay = 0.1;
  AdamW optimizer(parameters, settings);
  optimizer.step(1e-2);
  // Adam's first step moves each weight by about lr·sign(grad): where a gradient is at the
  // level of rounding noise its sign is arbitrary, so those elements are only bounded.
  for (const NamedParameter& p : parameters) {
    const torch::Tensor grad = expected.at("grad." + p.name).abs();
    const torch::Tensor clear = grad > grad.max() * 1e-4;
    const torch::Tensor difference = (p.tensor.detach() - expected.at("after." + p.name)).abs();
    EXPECT_LE(difference.masked_select(clear).max().item<double>(), 1e-6) << p.name;
    EXPECT_LE(difference.max().item<double>(), 2.1e-2) << p.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FullStepParityTest, ::testing::Values("llama3_tiny", "qwen2_tiny"));

}  // namespace
}  // namespace lmf::torch_backend::testing
