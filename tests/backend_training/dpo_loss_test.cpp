// The DPO loss (training/dpo_loss.h): a pair worked out by hand, and TRL's formula from
// the fixture (loss, rewards, accuracy, margin, grads).
#include "training/dpo_loss.h"
#include "optimizer_fixtures.h"

#include <lmf/sdk/error.h>

#include <cmath>

namespace lmf::torch_backend::testing {
namespace {

TEST(DpoLoss, OnePairWorkedOutByHand) {
  // Policy prefers chosen by 2 nats more than the reference does: logits 2, β = 0.5.
  torch::Tensor chosen = torch::tensor({-10.0f}).requires_grad_(),
                rejected = torch::tensor({-12.0f}).requires_grad_();
  const DpoLoss out =
      dpo_loss(chosen, rejected, torch::tensor({-11.0f}), torch::tensor({-11.0f}), 0.5);
  const double expected = std::log1p(std::exp(-1.0));  // −log σ(1)
  EXPECT_NEAR(out.loss.item<double>(), expected, 1e-6);
  EXPECT_NEAR(out.chosen_rewards[0].item<double>(), 0.5, 1e-6);
  EXPECT_NEAR(out.rejected_rewards[0].item<double>(), -0.5, 1e-6);
  EXPECT_EQ(out.accuracy.item<double>(), 1.0);
  EXPECT_NEAR(out.margin.item<double>(), 1.0, 1e-6);
  out.loss.backward();
  // d/dπc of −log σ(β(πc − πr − …)) = −β·σ(−1).
  const double sigma_minus_one = 1.0 / (1.0 + std::exp(1.0));
  EXPECT_NEAR(chosen.grad()[0].item<double>(), -0.5 * sigma_minus_one, 1e-6);
  EXPECT_NEAR(rejected.grad()[0].item<double>(), 0.5 * sigma_minus_one, 1e-6);
  EXPECT_FALSE(out.chosen_rewards.requires_grad());
}

TEST(DpoLoss, RefusesMismatchedInputsAndANonPositiveBeta) {
  const torch::Tensor two = torch::zeros({2}), three = torch::zeros({3});
  EXPECT_THROW(dpo_loss(two, three, two, two, 0.1), sdk::Error);
  EXPECT_THROW(dpo_loss(two, two, two, two, 0.0), sdk::Error);
}

TEST(DpoLossReference, MatchesTrlSigmoidLoss) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("dpo.json");
  const nlohmann::json f = fixture_json("dpo.json");
  auto tensor = [&](const char* key) { return torch::tensor(f[key].get<std::vector<float>>()); };
  torch::Tensor chosen = tensor("policy_chosen").requires_grad_(),
                rejected = tensor("policy_rejected").requires_grad_();
  const DpoLoss out = dpo_loss(chosen, rejected, tensor("reference_chosen"),
                               tensor("reference_rejected"), f["beta"]);
  EXPECT_NEAR(out.loss.item<double>(), f["loss"].get<double>(), 1e-6);
  EXPECT_TRUE(all_close(out.chosen_rewards, tensor("chosen_rewards"), 1e-6, 1e-6));
  EXPECT_TRUE(all_close(out.rejected_rewards, tensor("rejected_rewards"), 1e-6, 1e-6));
  EXPECT_NEAR(out.accuracy.item<double>(), f["rewards/accuracies"].get<double>(), 1e-7);
  EXPECT_NEAR(out.margin.item<double>(), f["rewards/margins"].get<double>(), 1e-6);
  out.loss.backward();
  EXPECT_TRUE(all_close(chosen.grad(), tensor("grad_policy_chosen"), 1e-5, 1e-8));
  EXPECT_TRUE(all_close(rejected.grad(), tensor("grad_policy_rejected"), 1e-5, 1e-8));
}

}  // namespace
}  // namespace lmf::torch_backend::testing
