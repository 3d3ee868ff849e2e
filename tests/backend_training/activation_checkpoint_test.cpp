// Activation checkpointing (training/activation_checkpoint.h): the same output and the
// same grads (input and captured weights) as the plain block, with dropout inside too,
// the random stream left as the plain run leaves it; and in the decoder, the same hidden
// states and weight grads as without it on a fixture model.
#include "training/activation_checkpoint.h"
#include "loaded_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

namespace lmf::torch_backend::testing {
namespace {

using Block = std::function<torch::Tensor(const torch::Tensor&)>;

struct BlockWeights {
  torch::Tensor w1, w2;
};

BlockWeights make_weights() {
  torch::manual_seed(11);
  return {torch::randn({12, 8}).requires_grad_(), torch::randn({8, 12}).requires_grad_()};
}

// An MLP residual branch; with dropout when `dropout` > 0 (as LoRA's).
Block mlp(const BlockWeights& w, double dropout) {
  return [w, dropout](const torch::Tensor& x) {
    torch::Tensor a = torch::tanh(torch::linear(x, w.w1));
    if (dropout > 0) a = torch::dropout(a, dropout, /*train=*/true);
    return torch::linear(a, w.w2);
  };
}

struct BlockRun {
  torch::Tensor output, grad_input, grad_w1, grad_w2, next_random;
};

// Two blocks in a row and a weighted loss, with or without checkpointing; the same seed.
BlockRun run(bool checkpoint, double dropout, bool input_requires_grad = true) {
  const BlockWeights w = make_weights();
  torch::manual_seed(5);
  torch::Tensor x = torch::randn({4, 8}).requires_grad_(input_requires_grad);
  const Block block = mlp(w, dropout);
  auto apply = [&](const torch::Tensor& h) {
    return checkpoint ? checkpointed(block, h) : block(h);
  };
  torch::Tensor h = x + apply(x);
  h = h + apply(h);
  torch::Tensor loss = (h * torch::linspace(-1, 1, 8)).sum();
  loss.backward();
  torch::Tensor next = torch::rand({3});  // where the random stream stands afterwards
  return {h.detach(), x.grad(), w.w1.grad(), w.w2.grad(), next};
}

void expect_same(const BlockRun& plain, const BlockRun& checkpointed_run) {
  EXPECT_TRUE(torch::allclose(checkpointed_run.output, plain.output, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(checkpointed_run.grad_w1, plain.grad_w1, 1e-6, 1e-7));
  EXPECT_TRUE(torch::allclose(checkpointed_run.grad_w2, plain.grad_w2, 1e-6, 1e-7));
  EXPECT_EQ(checkpointed_run.grad_input.defined(), plain.grad_input.defined());
  if (plain.grad_input.defined()) {
    EXPECT_TRUE(torch::allclose(checkpointed_run.grad_input, plain.grad_input, 1e-6, 1e-7));
  }
}

TEST(ActivationCheckpoint, SameOutputAndGradsAsThePlainBlock) {
  const BlockRun plain = run(false, 0.0), checkpointed_run = run(true, 0.0);
  ASSERT_TRUE(plain.grad_w1.defined() && checkpointed_run.grad_w1.defined());
  expect_same(plain, checkpointed_run);
}

TEST(ActivationCheckpoint, DropoutDrawsTheSameMaskWhenRecomputed) {
  const BlockRun plain = run(false, 0.5), checkpointed_run = run(true, 0.5);
  expect_same(plain, checkpointed_run);
  // The recomputation does not advance the generator: later draws are the plain run's.
  EXPECT_TRUE(torch::equal(checkpointed_run.next_random, plain.next_random));
  // And dropout did act: without it the output differs.
  EXPECT_FALSE(torch::allclose(run(false, 0.0).output, plain.output));
}

TEST(ActivationCheckpoint, WeightsGetGradsWhenTheInputNeedsNone) {
  const BlockRun plain = run(false, 0.5, false), checkpointed_run = run(true, 0.5, false);
  ASSERT_TRUE(checkpointed_run.grad_w1.defined());
  expect_same(plain, checkpointed_run);
}

TEST(ActivationCheckpoint, KeepsNoGraphInsideTheBlock) {
  const BlockWeights w = make_weights();
  torch::Tensor x = torch::randn({2, 8}).requires_grad_();
  torch::Tensor y = checkpointed(mlp(w, 0.0), x);
  ASSERT_TRUE(y.requires_grad());
  // The output hangs directly off the input: the block's own nodes (linear, tanh) are not recorded.
  const auto& edges = y.grad_fn()->next_edges();
  ASSERT_EQ(edges.size(), 1u);
  EXPECT_EQ(edges[0].function, torch::autograd::impl::gradient_edge(x).function);
  EXPECT_EQ(y.grad_fn()->name(), "lmf::CheckpointBackward");
}

TEST(ActivationCheckpoint, WithoutGradModeIsThePlainBlock) {
  const BlockWeights w = make_weights();
  torch::Tensor x = torch::randn({2, 8});
  torch::NoGradGuard no_grad;
  torch::Tensor y = checkpointed(mlp(w, 0.0), x);
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(torch::equal(y, mlp(w, 0.0)(x)));
}

TEST(ActivationCheckpoint, RefusesAnInputChangedInPlaceBeforeTheBackwardPass) {
  const BlockWeights w = make_weights();
  torch::Tensor x = torch::randn({2, 8}).requires_grad_() * 1.0;  // not a leaf: may change in place
  torch::Tensor y = checkpointed(mlp(w, 0.0), x);
  {
    torch::NoGradGuard no_grad;
    x.add_(1.0);
  }
  try {
    y.sum().backward();
    FAIL() << "the changed input was used";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("modified in place"), std::string::npos) << e.what();
  }
}

// The decoder with checkpointing: same hidden states and grads of every weight.
TEST(DecoderActivationCheckpointing, SameHiddenStatesAndWeightGradsOnAFixtureModel) {
  LoadOptions options;
  options.device = "cpu";
  options.dtype = "float32";
  options.fused_attention = false;
  options.tokenizer = "";
  auto model = LoadedModel::load(std::string(LMF_BACKEND_FIXTURES_DIR) + "/llama3_tiny", options);
  for (const std::string& name : model->weights.names())
    model->weights.at(name).requires_grad_(true);
  torch::Tensor ids =
      torch::tensor({1, 5, 9, 33, 7, 2, 64, 100, 3, 4, 11, 12}, torch::kInt64).view({2, 6});
  torch::Tensor positions = torch::arange(6, torch::kInt64).expand({2, 6});
  auto forward_backward = [&](bool checkpoint) {
    model->decoder->set_activation_checkpointing(checkpoint);
    for (const std::string& name : model->weights.names())
      model->weights.at(name).mutable_grad() = torch::Tensor();
    torch::Tensor hidden =
        model->decoder->hidden_states(ids, ForwardContext{positions, {}, nullptr, 6});
    (hidden * hidden).sum().backward();
    std::map<std::string, torch::Tensor> grads;
    for (const std::string& name : model->weights.names())
      grads[name] = model->weights.at(name).grad();
    return std::make_pair(hidden.detach(), grads);
  };
  const auto [plain_hidden, plain_grads] = forward_backward(false);
  const auto [hidden, grads] = forward_backward(true);
  EXPECT_TRUE(torch::allclose(hidden, plain_hidden, 1e-5, 1e-6));
  for (const auto& [name, grad] : plain_grads) {
    if (name == "lm_head.weight") continue;  // after the hidden states
    ASSERT_TRUE(grad.defined()) << name;
    ASSERT_TRUE(grads.at(name).defined()) << name;
    // The residual stream's grads add up in another order: equal to float rounding.
    EXPECT_LE((grads.at(name) - grad).abs().max().item<double>(),
              1e-5 * grad.abs().max().item<double>())
        << name;
  }
}

}  // namespace
}  // namespace lmf::torch_backend::testing
