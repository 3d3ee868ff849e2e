// Note [AWQ scale folding]: folding scales into a block (Note [Fold groups]) leaves the
// model's outputs as they were, within fp32 rounding, on Llama-2 (as many key/value heads
// as query heads: v_proj folds into o_proj) and Llama-3 (GQA: it does not).
#include "driver_support.h"
#include "quantize/input_scale_folding.h"

namespace lmf::torch_backend::testing {
namespace {

class FoldTest : public DriverTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(FoldTest, FoldingRandomScalesKeepsTheLogits) {
  auto model = load_exact(fixture(GetParam()));
  make_blocks_writable(*model);
  torch::manual_seed(3);
  const torch::Tensor ids = torch::randint(0, model->config.vocab_size, {2, 24}, torch::kInt64);
  const torch::Tensor before = logits_of(*model, ids);
  const torch::Tensor norm_before = model->decoder->layer(0).input_norm.clone();
  const torch::Tensor up_before = model->decoder->layer(1).up_proj.weight.clone();

  const bool mha = model->config.num_kv_heads == model->config.num_heads;
  int64_t folded = 0;
  for (int64_t index = 0; index < model->decoder->num_layers(); ++index) {
    const std::vector<FoldGroup> groups = fold_groups(model->decoder->layer(index), index);
    ASSERT_EQ(groups.size(), mha ? 4u : 3u);
    const std::string prefix = "model.layers." + std::to_string(index) + ".";
    EXPECT_EQ(groups.front().producer, prefix + "input_layernorm");
    EXPECT_EQ(groups.back().producer, prefix + "mlp.up_proj");
    EXPECT_EQ(groups.back().consumers.front().name, prefix + "mlp.down_proj");
    for (const FoldGroup& group : groups) {
      const int64_t in = group.consumers.front().linear->weight.size(1);
      // Scales from e^-2 to e^2, as AWQ's searches give.
      fold_input_scales(group, torch::exp(torch::rand({in}) * 4 - 2));
      ++folded;
    }
  }
  EXPECT_EQ(folded, model->decoder->num_layers() * (mha ? 4 : 3));
  // The weights did change …
  EXPECT_FALSE(torch::allclose(model->decoder->layer(0).input_norm, norm_before));
  EXPECT_FALSE(torch::allclose(model->decoder->layer(1).up_proj.weight, up_before));
  // … the function did not.
  const torch::Tensor after = logits_of(*model, ids);
  EXPECT_LT(relative_error(after, before), 1e-5) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Families, FoldTest,
                         ::testing::Values("llama2_tiny_sharded", "llama3_tiny"));

}  // namespace
}  // namespace lmf::torch_backend::testing
