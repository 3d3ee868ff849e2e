// LoRA adapters on the decoder (training/lora.h): PEFT's initialisation, the term each
// projection adds, merging, fused and separate projections, dropout, gradients. On the
// backend's tiny Llama-3 and Qwen2 fixtures (Qwen2 has q/k/v biases).
#include "lora_test_support.h"

#include "save_model.h"

#include <cmath>
#include <set>

namespace lmf::torch_backend::testing {
namespace {

using lmf::testing::Contains;

LoraSettings rank4_alpha8() {
  LoraSettings s;
  s.rank = 4;
  s.alpha = 8;
  return s;
}

class Lora : public BackendTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(Lora, NewAdaptersLeaveTheModelUnchanged) {
  auto model = load_model(GetParam(), /*fused=*/false);
  const torch::Tensor ids = token_batch(1);
  const torch::Tensor base = logits_without_grad(*model, ids);
  LoraAdapters adapters(*model, rank4_alpha8(), /*seed=*/7);
  EXPECT_TRUE(torch::equal(logits_without_grad(*model, ids), base));
}

TEST_P(Lora, AIsKaimingUniformFromTheSeedAndBIsZero) {
  auto model = load_model(GetParam(), false);
  const ModelConfig& c = model->config;
  LoraAdapters adapters(*model, rank4_alpha8(), 7);
  const NamedTensors params = adapters.parameters();
  ASSERT_EQ(params.size(), static_cast<size_t>(c.num_layers * 7 * 2));
  EXPECT_EQ(params[0].first, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(params[1].first, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
  EXPECT_EQ(params[13].first, "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
  EXPECT_EQ(params[14].first, "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight");
  for (size_t i = 0; i < params.size(); i += 2) {
    const torch::Tensor& a = params[i].second;
    const torch::Tensor& b = params[i + 1].second;
    const int64_t in =
        i % 14 == 12 ? c.intermediate_size : c.hidden_size;  // down_proj reads the MLP's width
    ASSERT_EQ(a.sizes(), at::IntArrayRef({4, in})) << params[i].first;
    ASSERT_EQ(b.size(1), 4) << params[i + 1].first;
    EXPECT_EQ(a.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(a.requires_grad() && b.requires_grad());
    EXPECT_EQ(b.abs().max().item<float>(), 0.0f);
    // kaiming_uniform_(a=√5) over fan_in `in`: uniform in ±1/√in.
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    EXPECT_LE(a.abs().max().item<double>(), bound);
    EXPECT_GT(a.abs().max().item<double>(), 0.8 * bound);
    EXPECT_NEAR(a.mean().item<double>(), 0.0, 0.2 * bound);
  }
  EXPECT_EQ(find_linear(*model, "model.layers.0.self_attn.k_proj").weight.size(0),
            params[3].second.size(0));  // B [out, r]

  auto again = load_model(GetParam(), false);
  LoraAdapters same(*again, rank4_alpha8(), 7);
  auto other = load_model(GetParam(), false);
  LoraAdapters different(*other, rank4_alpha8(), 8);
  EXPECT_TRUE(torch::equal(same.parameters()[0].second, params[0].second));
  EXPECT_FALSE(torch::equal(different.parameters()[0].second, params[0].second));
}

TEST_P(Lora, TargetsChooseTheAdaptedProjections) {
  auto model = load_model(GetParam(), false);
  LoraSettings s = rank4_alpha8();
  s.target_modules = {"q_proj", "layers.1.mlp.down_proj"};
  LoraAdapters adapters(*model, s, 7);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : adapters.parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
                       "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
                       "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
                       "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
                       "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight",
                       "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"}));
  EXPECT_EQ(find_linear(*model, "model.layers.0.self_attn.k_proj").adapter, nullptr);
  EXPECT_NE(find_linear(*model, "model.layers.1.mlp.down_proj").adapter, nullptr);
}

TEST_P(Lora, TargetsThatNameNoProjectionAreRefusedByName) {
  auto model = load_model(GetParam(), false);
  LoraSettings s = rank4_alpha8();
  s.target_modules = {"q_proj", "lm_head", "embed_tokens"};
  const std::string error = error_of([&] { LoraAdapters adapters(*model, s, 7); });
  EXPECT_TRUE(
      Contains(error, "LoRA target_modules: \"lm_head\", \"embed_tokens\" name no projection"));
  EXPECT_EQ(find_linear(*model, "model.layers.0.self_attn.q_proj").adapter,
            nullptr);  // nothing attached

  s.target_modules.clear();
  s.target_regex = R"(.*\.attn\..*)";
  EXPECT_TRUE(Contains(error_of([&] { LoraAdapters adapters(*model, s, 7); }),
                       "\".*\\.attn\\..*\" names no projection"));
}

TEST_P(Lora, AttachingTwiceIsRefused) {
  auto model = load_model(GetParam(), false);
  LoraAdapters first(*model, rank4_alpha8(), 7);
  EXPECT_TRUE(Contains(error_of([&] { LoraAdapters second(*model, rank4_alpha8(), 7); }),
                       "model.layers.0.self_attn.q_proj: already has an adapter"));
}

// W·x + b + scaling·B·A·x with scaling alpha/r = 2, or alpha/√r = 4 with rsLoRA,
// computed here from the tensors.
TEST_P(Lora, AProjectionAddsItsScaledLowRankTerm) {
  for (const bool rslora : {false, true}) {
    auto model = load_model(GetParam(), false);
    LoraSettings s = rank4_alpha8();
    s.use_rslora = rslora;
    LoraAdapters adapters(*model, s, 7);
    randomize_adapters(adapters, 11);
    const Linear& q = find_linear(*model, "model.layers.0.self_attn.q_proj");
    const auto& lora = dynamic_cast<const LoraAdapter&>(*q.adapter);
    torch::NoGradGuard no_grad;
    torch::manual_seed(3);
    const torch::Tensor x = torch::randn({2, 5, model->config.hidden_size});
    torch::Tensor expected = torch::matmul(x, q.weight.t());
    if (q.bias.defined()) expected = expected + q.bias;
    const double scaling = rslora ? 4.0 : 2.0;
    expected = expected + scaling * torch::matmul(torch::matmul(x, lora.a().t()), lora.b().t());
    EXPECT_LE(relative_error(q(x), expected), 1e-6) << "rslora " << rslora;
    EXPECT_GT((q(x) - q.base(x)).abs().max().item<double>(), 1e-2);
  }
}

TEST_P(Lora, OnlyTheAdaptersGetGradients) {
  auto model = load_model(GetParam(), false);
  LoraAdapters adapters(*model, rank4_alpha8(), 7);
  randomize_adapters(adapters, 11);
  const torch::Tensor ids = token_batch(1);
  causal_lm_loss(forward_logits(*model, ids), ids).backward();
  for (const auto& [name, tensor] : adapters.parameters()) {
    ASSERT_TRUE(tensor.grad().defined()) << name;
    EXPECT_GT(tensor.grad().abs().max().item<double>(), 0) << name;
  }
  model->decoder->for_each_linear([](const std::string& name, Linear& linear) {
    EXPECT_FALSE(linear.weight.requires_grad()) << name;
    EXPECT_FALSE(linear.weight.grad().defined()) << name;
  });
}

// A merged model is a plain model: the same logits without adapters, and saved as a
// full checkpoint that loads again with the same logits. The fixture's weights are read
// from a read-only mapping, so the merged weights are new tensors.
TEST_P(Lora, MergingKeepsTheLogitsAndSavesAPlainCheckpoint) {
  auto model = load_model(GetParam(), false);
  const torch::Tensor ids = token_batch(1);
  const torch::Tensor base = logits_without_grad(*model, ids);
  LoraAdapters adapters(*model, rank4_alpha8(), 7);
  randomize_adapters(adapters, 11);
  const torch::Tensor adapted = logits_without_grad(*model, ids);
  ASSERT_GT(relative_error(adapted, base), 1e-2) << "the adapters must change the model";

  adapters.merge();
  EXPECT_TRUE(adapters.parameters().empty());
  model->decoder->for_each_linear([](const std::string& name, Linear& linear) {
    EXPECT_EQ(linear.adapter, nullptr) << name;
    EXPECT_EQ(linear.weight.scalar_type(), torch::kFloat32) << name;
  });
  EXPECT_LE(relative_error(logits_without_grad(*model, ids), adapted), 1e-5);

  lmf::testing::TempDir dir("lmf_lora_merged");
  save_model(*model, (dir.path() / "merged").string(), nlohmann::json::object());
  auto reloaded = load_model((dir.path() / "merged").string(), false);
  const std::vector<std::string>& saved = reloaded->weights.names();
  EXPECT_EQ(std::set<std::string>(saved.begin(), saved.end()),
            std::set<std::string>(model->weights.names().begin(), model->weights.names().end()));
  EXPECT_LE(relative_error(logits_without_grad(*reloaded, ids), adapted), 1e-5);
  // The fixture itself is untouched.
  EXPECT_TRUE(torch::equal(logits_without_grad(*load_model(GetParam(), false), ids), base));
}

TEST_P(Lora, DetachingRestoresTheBaseModel) {
  auto model = load_model(GetParam(), false);
  const torch::Tensor ids = token_batch(1);
  const torch::Tensor base = logits_without_grad(*model, ids);
  LoraAdapters adapters(*model, rank4_alpha8(), 7);
  randomize_adapters(adapters, 11);
  adapters.detach();
  EXPECT_TRUE(torch::equal(logits_without_grad(*model, ids), base));
  EXPECT_TRUE(Contains(error_of([&] { adapters.save_peft("unused", "base"); }),
                       "no LoRA adapters to save"));
}

// Note [Fused projections]: adapters on q/k/v and gate/up add their terms to the slices
// of the fused output, and merging into a part's row view updates the fused matrix.
TEST_P(Lora, FusedAndSeparateProjectionsAgree) {
  const torch::Tensor ids = token_batch(1);
  std::map<std::string, torch::Tensor> grads[2];
  torch::Tensor logits[2];
  for (const bool fused : {false, true}) {
    auto model = load_model(GetParam(), fused);
    LoraAdapters adapters(*model, rank4_alpha8(), 7);
    randomize_adapters(adapters, 11);
    torch::Tensor out = forward_logits(*model, ids);
    causal_lm_loss(out, ids).backward();
    logits[fused] = out.detach();
    for (const auto& [name, tensor] : adapters.parameters())
      grads[fused][name] = tensor.grad().clone();

    adapters.merge();
    EXPECT_LE(relative_error(logits_without_grad(*model, ids), logits[fused]), 1e-5)
        << "fused " << fused;
  }
  EXPECT_LE(relative_error(logits[1], logits[0]), 1e-5);
  ASSERT_EQ(grads[1].size(), grads[0].size());
  for (const auto& [name, grad] : grads[0])
    EXPECT_LE(relative_error(grads[1].at(name), grad), 1e-5) << name;
}

TEST_P(Lora, DropoutActsOnlyWhileTraining) {
  const torch::Tensor ids = token_batch(1);
  auto plain = load_model(GetParam(), false);
  LoraAdapters without(*plain, rank4_alpha8(), 7);
  randomize_adapters(without, 11);
  const torch::Tensor expected = logits_without_grad(*plain, ids);

  auto model = load_model(GetParam(), false);
  LoraSettings s = rank4_alpha8();
  s.dropout = 0.5;
  LoraAdapters adapters(*model, s, 7);
  randomize_adapters(adapters, 11);
  EXPECT_LE(relative_error(logits_without_grad(*model, ids), expected),
            1e-6);  // not training: no dropout
  adapters.set_training(true);
  EXPECT_GT(relative_error(logits_without_grad(*model, ids), expected), 1e-3);
  adapters.set_training(false);
  EXPECT_LE(relative_error(logits_without_grad(*model, ids), expected), 1e-6);
}

// fp32 adapters on a bf16 base: the term is computed in bf16 (Note [LoRA in the
// activations' dtype]) and the sum returned in bf16; merging keeps the weights bf16.
TEST_P(Lora, Fp32AdaptersOnABf16Base) {
  auto model = load_model(GetParam(), false, "bfloat16");
  LoraAdapters adapters(*model, rank4_alpha8(), 7);
  randomize_adapters(adapters, 11);
  EXPECT_EQ(adapters.parameters()[0].second.scalar_type(), torch::kFloat32);
  const Linear& q = find_linear(*model, "model.layers.0.self_attn.q_proj");
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({1, 3, model->config.hidden_size}).to(torch::kBFloat16);
  EXPECT_EQ(q(x).scalar_type(), torch::kBFloat16);

  const torch::Tensor ids = token_batch(1);
  const torch::Tensor adapted = logits_without_grad(*model, ids);
  adapters.merge();
  EXPECT_EQ(find_linear(*model, "model.layers.0.self_attn.q_proj").weight.scalar_type(),
            torch::kBFloat16);
  EXPECT_LE(relative_error(logits_without_grad(*model, ids), adapted),
            3e-2);  // bf16 rounding of W + ΔW
}

// The two compute modes on a bf16 base against the term computed in fp32 by hand:
// "adapter" (PEFT's) is that term exactly; "input" is it up to bf16 rounding, and its
// gradients reach the fp32 adapters.
TEST_P(Lora, ComputeInTheInputsDtypeOrTheAdaptersAsPeft) {
  auto model = load_model(GetParam(), false, "bfloat16");
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({2, 3, model->config.hidden_size}).to(torch::kBFloat16);
  for (const std::string compute : {"adapter", "input"}) {
    LoraSettings settings = rank4_alpha8();
    settings.compute = compute;
    LoraAdapters adapters(*model, settings, 7);
    randomize_adapters(adapters, 11);
    const Linear& q = find_linear(*model, "model.layers.0.self_attn.q_proj");
    const auto& lora = dynamic_cast<const LoraAdapter&>(*q.adapter);
    const torch::Tensor by_hand = torch::matmul(torch::matmul(x.to(torch::kFloat32), lora.a().detach().t()),
                                                lora.b().detach().t()) * settings.scaling();
    const torch::Tensor term = lora(x);
    if (compute == "adapter") {
      EXPECT_EQ(term.scalar_type(), torch::kFloat32);
      EXPECT_LE(relative_error(term, by_hand), 1e-6);
    } else {
      EXPECT_EQ(term.scalar_type(), torch::kBFloat16);
      EXPECT_LE(relative_error(term.to(torch::kFloat32), by_hand), 2e-2);
      term.to(torch::kFloat32).sum().backward();
      ASSERT_TRUE(lora.a().grad().defined());
      EXPECT_EQ(lora.a().grad().scalar_type(), torch::kFloat32);
      // d(sum)/dA = s · Bᵀ·1 · xᵀ summed over rows: by hand in fp32.
      const torch::Tensor ones = torch::ones({lora.b().size(0)});
      const torch::Tensor grad_a = torch::outer(torch::matmul(lora.b().detach().t(), ones),
                                                x.to(torch::kFloat32).reshape({-1, x.size(-1)}).sum(0)) *
                                   settings.scaling();
      EXPECT_LE(relative_error(lora.a().grad(), grad_a), 3e-2);
    }
    adapters.detach();
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Lora, ::testing::Values("llama3_tiny", "qwen2_tiny"));

}  // namespace
}  // namespace lmf::torch_backend::testing
