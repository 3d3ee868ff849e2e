// AdamW (training/adamw.h): torch.optim.AdamW's numbers over five steps in fp32 and through
// the fp32 master weights of bf16 parameters, Hugging Face Trainer's weight-decay rule, the
// state a checkpoint saves (a resumed optimizer continues bit for bit) and its refusals.
#include "optimizer_fixtures.h"
#include "training/adamw.h"
#include "training/grad_clip.h"

#include <lmf/sdk/error.h>

#include <cmath>

namespace lmf::torch_backend::testing {
namespace {

torch::Tensor state_tensor(const AdamW& optimizer, const std::string& name) {
  for (const auto& [key, tensor] : optimizer.state().tensors)
    if (key == name) return tensor;
  ADD_FAILURE() << "no state tensor " << name;
  return {};
}

std::map<std::string, torch::Tensor> cloned_state(const AdamW& optimizer) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, tensor] : optimizer.state().tensors) out[name] = tensor.clone();
  return out;
}

// Three parameters as a decoder names them: a decayed weight, a bias and a norm weight.
std::vector<NamedParameter> small_model(torch::ScalarType dtype, uint64_t seed,
                                        const torch::Device& device = torch::kCPU) {
  torch::manual_seed(seed);
  auto make = [&](std::vector<int64_t> shape) {
    return torch::randn(shape).to(device, dtype).requires_grad_();
  };
  return {{"model.layers.0.mlp.up_proj.weight", make({6, 4})},
          {"model.layers.0.self_attn.q_proj.bias", make({6})},
          {"model.norm.weight", make({4})}};
}

void set_random_grads(const std::vector<NamedParameter>& parameters, int64_t seed) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  for (const NamedParameter& p : parameters)
    p.tensor.mutable_grad() = torch::randn(p.tensor.sizes()).to(p.tensor.options());
}

std::vector<NamedParameter> copies(const std::vector<NamedParameter>& parameters) {
  std::vector<NamedParameter> out;
  for (const NamedParameter& p : parameters)
    out.push_back({p.name, p.tensor.detach().clone().requires_grad_()});
  return out;
}

AdamWSettings with_decay(double weight_decay) {
  AdamWSettings settings;
  settings.weight_decay = weight_decay;
  return settings;
}

// The small fp32 model, a copy of its starting weights, and AdamW with `decay`.
struct SmallModelRun {
  std::vector<NamedParameter> parameters, initial;
  AdamW optimizer;
  SmallModelRun(uint64_t seed, double decay)
      : parameters(small_model(torch::kFloat32, seed)),
        initial(copies(parameters)),
        optimizer(parameters, with_decay(decay)) {}
  bool unchanged(size_t i) const { return torch::equal(parameters[i].tensor, initial[i].tensor); }
};

// Runs the fixture's cases with the parameters on `device`: the CPU takes the
// single-tensor update, CUDA the fused kernel (Note [Fused AdamW on CUDA]), which forms
// the first moment as β1·m + (1−β1)·g instead of lerp: its rounding differs by a few
// ulps of the grads (~1e-2 here), hence `moment_atol`.
void expect_torch_adamw_results(const torch::Device& device, double moment_atol) {
  const nlohmann::json fixture = fixture_json("adamw.json");
  const FixtureTensors tensors("adamw.safetensors");
  const auto names = fixture["parameters"].get<std::vector<std::string>>();
  const auto decays = fixture["decays"].get<std::vector<bool>>();
  auto decay_rule = [&](const std::string& name) {
    return decays[std::find(names.begin(), names.end(), name) - names.begin()];
  };
  for (const nlohmann::json& c : fixture["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const bool bf16 = c["bf16"];
    const torch::ScalarType dtype = bf16 ? torch::kBFloat16 : torch::kFloat32;
    std::vector<NamedParameter> parameters;
    for (const std::string& p : names)
      parameters.push_back(
          {p, tensors[name + "/" + p + "/initial"].to(device, dtype).requires_grad_()});
    AdamWSettings settings;
    settings.beta1 = c["betas"][0];
    settings.beta2 = c["betas"][1];
    settings.eps = c["eps"];
    settings.weight_decay = c["weight_decay"];
    AdamW optimizer(parameters, settings, decay_rule);
    EXPECT_EQ(optimizer.fused(), device.is_cuda());  // else the CUDA test would test nothing new
    for (int k = 0; k < c["steps"].get<int>(); ++k) {
      for (const NamedParameter& p : parameters)
        p.tensor.mutable_grad() =
            tensors[name + "/" + p.name + "/grad" + std::to_string(k)].to(device, dtype);
      optimizer.step(c["lrs"][k].get<double>());
      for (const NamedParameter& p : parameters) {
        const torch::Tensor expected = tensors[name + "/" + p.name + "/after" + std::to_string(k)];
        const torch::Tensor updated =
            (bf16 ? state_tensor(optimizer, p.name + ".master") : p.tensor.detach()).cpu();
        EXPECT_TRUE(all_close(updated, expected, 0, 1e-6)) << p.name << " after step " << k;
        if (bf16) {
          EXPECT_TRUE(torch::equal(p.tensor.detach().cpu(), updated.to(torch::kBFloat16))) << p.name;
        }
      }
    }
    for (const NamedParameter& p : parameters) {
      EXPECT_TRUE(all_close(state_tensor(optimizer, p.name + ".exp_avg").cpu(),
                            tensors[name + "/" + p.name + "/exp_avg"], 1e-5, moment_atol))
          << p.name;
      EXPECT_TRUE(all_close(state_tensor(optimizer, p.name + ".exp_avg_sq").cpu(),
                            tensors[name + "/" + p.name + "/exp_avg_sq"], 1e-5, 1e-12))
          << p.name;
      EXPECT_EQ(state_tensor(optimizer, p.name + ".step").item<int64_t>(), c["steps"].get<int64_t>());
    }
  }
}

TEST(AdamWReference, MatchesTorchAdamWOverFiveStepsWithAPerStepLearningRate) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("adamw.json");
  expect_torch_adamw_results(torch::kCPU, 1e-9);
}

TEST(AdamWReference, TheFusedCudaKernelMatchesTorchAdamWToo) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("adamw.json");
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_torch_adamw_results(torch::Device(torch::kCUDA, 0), 2e-8);
}

TEST(AdamWReference, DecayRuleMatchesHuggingFaceTrainerOnAQwen2Model) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("adamw.json");
  const nlohmann::json names = fixture_json("adamw.json")["hf_decay_names"];
  ASSERT_FALSE(names.empty());
  for (const auto& [name, decays] : names.items())
    EXPECT_EQ(decays_like_hf_trainer(name), decays.get<bool>()) << name;
}

TEST(AdamW, DecayRuleSparesBiasesAndNormWeights) {
  EXPECT_TRUE(decays_like_hf_trainer("model.layers.3.self_attn.q_proj.weight"));
  EXPECT_TRUE(decays_like_hf_trainer("model.embed_tokens.weight"));
  EXPECT_TRUE(decays_like_hf_trainer("lm_head.weight"));
  EXPECT_TRUE(decays_like_hf_trainer("base_model.model.model.layers.0.mlp.up_proj.lora_A.weight"));
  EXPECT_TRUE(
      decays_like_hf_trainer("model.normalizer.weight"));  // "norm" only as a whole component
  EXPECT_FALSE(decays_like_hf_trainer("model.layers.3.self_attn.q_proj.bias"));
  EXPECT_FALSE(decays_like_hf_trainer("model.layers.3.input_layernorm.weight"));
  EXPECT_FALSE(decays_like_hf_trainer("model.layers.3.post_attention_layernorm.weight"));
  EXPECT_FALSE(decays_like_hf_trainer("model.norm.weight"));
  EXPECT_FALSE(decays_like_hf_trainer("model.layers.0.self_attn.q_norm.weight"));
  EXPECT_FALSE(decays_like_hf_trainer("model.final_RMSNorm.weight"));
}

// Worked by hand from the update rule: m, v, bias corrections, eps after the square root.
TEST(AdamW, TwoStepsOfOneScalarFollowTheUpdateRule) {
  torch::Tensor p = torch::tensor({1.0f}).requires_grad_();
  AdamWSettings settings;  // betas 0.9 / 0.95, eps 1e-8, no decay
  AdamW optimizer({{"w", p}}, settings);
  p.mutable_grad() = torch::tensor({0.5f});
  optimizer.step(0.1);
  // m = 0.05, v = 0.0125; m̂ = 0.5, v̂ = 0.25.
  const double after_one = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
  EXPECT_NEAR(p.item<double>(), after_one, 1e-7);
  p.mutable_grad() = torch::tensor({-0.25f});
  optimizer.step(0.1);
  // m = 0.045 − 0.025 = 0.02, v = 0.011875 + 0.003125 = 0.015; corrections 0.19 and 0.0975.
  const double after_two = after_one - 0.1 * (0.02 / 0.19) / (std::sqrt(0.015 / 0.0975) + 1e-8);
  EXPECT_NEAR(p.item<double>(), after_two, 1e-6);
  EXPECT_EQ(optimizer.steps_taken(), 2);
}

TEST(AdamW, LearningRateZeroLeavesWeightsUnchangedEvenWithDecay) {
  // torch's decay is p·(1 − lr·wd): scaled by the learning rate, so lr 0 decays nothing.
  for (double decay : {0.0, 0.1}) {
    SmallModelRun run(1, decay);
    for (int k = 0; k < 3; ++k) {
      set_random_grads(run.parameters, k);
      run.optimizer.step(0.0);
    }
    for (size_t i = 0; i < run.parameters.size(); ++i)
      EXPECT_TRUE(run.unchanged(i)) << i << " decay " << decay;
  }
}

TEST(AdamW, DecayShrinksOnlyTheDecayedWeightsByOneMinusLrTimesDecay) {
  // Zero grads: the moments stay 0 and the Adam update is 0/(0 + eps) = 0, leaving the decay.
  for (double decay : {0.0, 0.1}) {
    SmallModelRun run(2, decay);
    for (const NamedParameter& p : run.parameters)
      p.tensor.mutable_grad() = torch::zeros_like(p.tensor);
    run.optimizer.step(0.01);
    const torch::Tensor shrunk = run.initial[0].tensor.detach() * (1 - 0.01 * decay);
    EXPECT_TRUE(torch::equal(run.parameters[0].tensor, shrunk)) << "decay " << decay;
    EXPECT_EQ(run.unchanged(0), decay == 0);
    EXPECT_TRUE(run.unchanged(1));  // bias: never decayed
    EXPECT_TRUE(run.unchanged(2));  // norm weight
    EXPECT_EQ(run.optimizer.decays("model.layers.0.mlp.up_proj.weight"), true);
    EXPECT_EQ(run.optimizer.decays("model.norm.weight"), false);
  }
}

TEST(AdamW, UpdatesTooSmallForBf16AccumulateInTheMasterCopy) {
  torch::Tensor p = torch::ones({3}, torch::kBFloat16).requires_grad_();
  AdamW optimizer({{"w", p}}, AdamWSettings{});
  for (int k = 0; k < 100; ++k) {
    p.mutable_grad() = torch::ones({3}, torch::kBFloat16);
    optimizer.step(1e-4);  // each update ≈ 1e-4, below bf16's spacing of 2⁻⁷ at 1.0
  }
  const torch::Tensor master = state_tensor(optimizer, "w.master");
  EXPECT_EQ(master.scalar_type(), torch::kFloat32);
  EXPECT_NEAR(master[0].item<double>(), 0.99, 1e-5);
  EXPECT_TRUE(torch::equal(p.detach(), master.to(torch::kBFloat16)));
  EXPECT_LT(p[0].item<double>(), 1.0);
}

TEST(AdamW, ParametersWithoutAGradAreSkippedAndKeepTheirStepCount) {
  SmallModelRun run(3, 0.1);
  run.parameters[0].tensor.mutable_grad() = torch::ones_like(run.parameters[0].tensor);
  run.optimizer.step(0.01);
  EXPECT_FALSE(run.unchanged(0));
  EXPECT_TRUE(run.unchanged(1));
  EXPECT_EQ(state_tensor(run.optimizer, run.parameters[0].name + ".step").item<int64_t>(), 1);
  EXPECT_EQ(state_tensor(run.optimizer, run.parameters[1].name + ".step").item<int64_t>(), 0);
  run.optimizer.zero_grad();
  EXPECT_FALSE(run.parameters[0].tensor.grad().defined());
}

// An optimizer rebuilt from saved weights and state continues exactly as one that never stopped.
void expect_resume_is_bit_identical(torch::ScalarType dtype,
                                    const torch::Device& device = torch::kCPU) {
  const AdamWSettings settings = with_decay(0.1);
  std::vector<NamedParameter> straight = small_model(dtype, 4, device);
  std::vector<NamedParameter> interrupted = copies(straight);
  AdamW uninterrupted(straight, settings);
  AdamW first_half(interrupted, settings);
  for (int k = 0; k < 5; ++k) {
    set_random_grads(straight, k);
    uninterrupted.step(1e-2 * (k + 1));
    if (k < 2) {
      set_random_grads(interrupted, k);
      first_half.step(1e-2 * (k + 1));
    }
  }
  const std::map<std::string, torch::Tensor> saved = cloned_state(first_half);
  std::vector<NamedParameter> resumed_parameters = copies(interrupted);
  AdamW resumed(resumed_parameters, settings);
  resumed.load_state(saved, first_half.steps_taken());
  EXPECT_EQ(resumed.steps_taken(), 2);
  for (int k = 2; k < 5; ++k) {
    set_random_grads(resumed_parameters, k);
    resumed.step(1e-2 * (k + 1));
  }
  for (size_t i = 0; i < straight.size(); ++i)
    EXPECT_TRUE(torch::equal(resumed_parameters[i].tensor, straight[i].tensor)) << straight[i].name;
  for (const auto& [name, tensor] : uninterrupted.state().tensors)
    EXPECT_TRUE(torch::equal(state_tensor(resumed, name), tensor)) << name;
}

TEST(AdamWState, ResumingContinuesBitForBitOnCudaThroughTheFusedKernel) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_resume_is_bit_identical(torch::kBFloat16, torch::Device(torch::kCUDA, 0));
}

TEST(AdamW, OnCudaParametersWithoutAGradKeepTheirWeightsMomentsAndStepCount) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  std::vector<NamedParameter> parameters = small_model(torch::kBFloat16, 3, torch::Device(torch::kCUDA, 0));
  const std::vector<NamedParameter> initial = copies(parameters);
  AdamW optimizer(parameters, with_decay(0.1));
  ASSERT_TRUE(optimizer.fused());
  for (int k = 0; k < 2; ++k) {
    parameters[0].tensor.mutable_grad() = torch::ones_like(parameters[0].tensor);
    optimizer.step(0.01);
  }
  EXPECT_FALSE(torch::equal(parameters[0].tensor, initial[0].tensor));
  EXPECT_EQ(state_tensor(optimizer, parameters[0].name + ".step").item<int64_t>(), 2);
  for (size_t i = 1; i < parameters.size(); ++i) {
    EXPECT_TRUE(torch::equal(parameters[i].tensor, initial[i].tensor)) << parameters[i].name;
    EXPECT_EQ(state_tensor(optimizer, parameters[i].name + ".step").item<int64_t>(), 0);
    EXPECT_EQ(state_tensor(optimizer, parameters[i].name + ".exp_avg").abs().sum().item<double>(), 0.0);
  }
}

// ---- Clipping through the optimizer (Note [Fused AdamW on CUDA]) -----------------------

torch::Tensor with_grad(torch::Tensor grad) {
  torch::Tensor p = torch::zeros_like(grad).requires_grad_();
  p.mutable_grad() = grad;
  return p;
}

TEST(ClipCoefficient, IsWhatClipGradNormScalesByAndLeavesTheGrads) {
  // 3-4-12: norm 13, coefficient 1 / (13 + 1e-6) for max_norm 1.
  std::vector<torch::Tensor> parameters = {with_grad(torch::tensor({3.0f, 4.0f})),
                                           with_grad(torch::tensor({12.0f})),
                                           torch::zeros({5}).requires_grad_()};  // no grad
  const ClipCoefficient clip = clip_coefficient(parameters, 1.0);
  EXPECT_FLOAT_EQ(clip.total_norm.item<float>(), 13.0f);
  EXPECT_EQ(clip.coefficient.scalar_type(), torch::kFloat32);
  EXPECT_EQ(clip.coefficient.dim(), 0);
  EXPECT_NEAR(clip.coefficient.item<double>(), 1.0 / (13.0 + 1e-6), 1e-7);
  EXPECT_TRUE(torch::equal(parameters[0].grad(), torch::tensor({3.0f, 4.0f})));  // untouched
  EXPECT_TRUE(torch::equal(parameters[1].grad(), torch::tensor({12.0f})));

  const torch::Tensor norm = clip_grad_norm(parameters, 1.0);
  EXPECT_TRUE(torch::equal(norm, clip.total_norm));
  EXPECT_TRUE(torch::equal(parameters[0].grad(), torch::tensor({3.0f, 4.0f}) * clip.coefficient));
  EXPECT_TRUE(torch::equal(parameters[1].grad(), torch::tensor({12.0f}) * clip.coefficient));

  // Below the limit the coefficient is exactly 1.
  const std::vector<torch::Tensor> small = {with_grad(torch::tensor({0.3f, -0.4f}))};
  EXPECT_EQ(clip_coefficient(small, 1.0).coefficient.item<float>(), 1.0f);
}

// Two copies of the small model with the same grads: one clipped and then stepped, the
// other stepped with the clip coefficient. Every weight and state tensor must agree bit
// for bit.
void expect_grad_scale_equals_clipping_first(torch::ScalarType dtype, const torch::Device& device) {
  std::vector<NamedParameter> clipped = small_model(dtype, 8, device);
  std::vector<NamedParameter> scaled = copies(clipped);
  AdamW clip_then_step(clipped, with_decay(0.1));
  AdamW step_with_scale(scaled, with_decay(0.1));
  for (int k = 0; k < 3; ++k) {
    set_random_grads(clipped, k);
    set_random_grads(scaled, k);
    const torch::Tensor norm = clip_grad_norm(clip_then_step.parameters(), 0.5);
    clip_then_step.step(1e-2 * (k + 1));
    const ClipCoefficient clip = clip_coefficient(step_with_scale.parameters(), 0.5);
    EXPECT_LT(clip.coefficient.item<float>(), 1.0f);  // the clip is active
    EXPECT_TRUE(torch::equal(norm, clip.total_norm));
    step_with_scale.step(1e-2 * (k + 1), clip.coefficient);
  }
  for (size_t i = 0; i < clipped.size(); ++i)
    EXPECT_TRUE(torch::equal(scaled[i].tensor, clipped[i].tensor)) << clipped[i].name;
  for (const auto& [name, tensor] : clip_then_step.state().tensors)
    EXPECT_TRUE(torch::equal(state_tensor(step_with_scale, name), tensor)) << name;
}

TEST(AdamW, AStepWithAGradScaleEqualsClippingFirst) {
  expect_grad_scale_equals_clipping_first(torch::kFloat32, torch::kCPU);
  expect_grad_scale_equals_clipping_first(torch::kBFloat16, torch::kCPU);
}

TEST(AdamW, OnCudaAGradScaleEqualsClippingFirstToo) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // bf16: the mixed-precision kernel applies the coefficient as it reads each grad; fp32:
  // libtorch's fused kernel after the grads were scaled.
  expect_grad_scale_equals_clipping_first(torch::kBFloat16, torch::Device(torch::kCUDA, 0));
  expect_grad_scale_equals_clipping_first(torch::kFloat16, torch::Device(torch::kCUDA, 0));
  expect_grad_scale_equals_clipping_first(torch::kFloat32, torch::Device(torch::kCUDA, 0));
}

// The mixed-precision kernel (16-bit parameters, fp32 masters) against the single-tensor
// update on the CPU, over steps with and without a clip coefficient, with and without
// weight decay, parameters that miss their grad on some steps, odd sizes (the kernel's
// element-by-element tail, a tensor of several blocks, one whose data is not 16-byte
// aligned). The CPU reference gets the grads clipped on the device, as clip_grad_norm
// would (the kernel's definition of the coefficient), and steps through `update`.
//
// Tolerances: the two compute the same formula with different fp32 roundings (the
// kernel's moments are two FMAs where the CPU takes lerp_, its hyperparameters and bias
// corrections are fp32 where the CPU keeps doubles), a few ulps per value and step.
// Masters: relative 2e-6 (16 fp32 ulps) after four steps, plus 1e-8 for weights near 0.
// exp_avg can cancel to near 0: absolute 1e-6 (several ulps of the unit-sized grads it
// mixes) plus relative 1e-5. exp_avg_sq is a sum of squares, relative 4e-6. (The same
// steps on an H100 against torch 2.11's single-tensor AdamW: the worst element reached a
// third of each tolerance.) The 16-bit weight must be the master rounded, exactly.
TEST(AdamW, OnCudaTheMixedPrecisionKernelMatchesTheSingleTensorUpdate) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA, 0);
  for (torch::ScalarType dtype : {torch::kBFloat16, torch::kFloat16}) {
    SCOPED_TRACE(c10::toString(dtype));
    torch::manual_seed(11);
    const std::vector<std::vector<int64_t>> shapes = {{1},         {7},         {4097},
                                                      {3'000'001}, {129, 1031}, {5000}};
    std::vector<NamedParameter> on_cuda, on_cpu;
    for (size_t i = 0; i < shapes.size(); ++i) {
      const torch::Tensor initial = torch::randn(shapes[i]).to(dtype);
      torch::Tensor weight = initial.to(cuda);
      if (i == 5) {  // a leaf one element into its storage: not 16-byte aligned
        weight =
            torch::empty({initial.numel() + 1}, weight.options()).narrow(0, 1, initial.numel());
        weight.copy_(initial);
      }
      on_cuda.push_back({"p" + std::to_string(i), weight.detach().requires_grad_()});
      on_cpu.push_back({"p" + std::to_string(i), initial.clone().requires_grad_()});
    }
    const DecayRule decays = [](const std::string& name) { return name != "p1" && name != "p4"; };
    AdamWSettings settings = with_decay(0.1);
    settings.beta2 = 0.99;
    AdamW kernel(on_cuda, settings, decays);
    AdamW reference(on_cpu, settings, decays);
    ASSERT_TRUE(kernel.fused());
    std::vector<int64_t> steps(shapes.size(), 0);
    for (int k = 0; k < 4; ++k) {
      for (size_t i = 0; i < shapes.size(); ++i) {
        const bool has_grad = !(i == 1 && k % 2 == 1) && !(i == 4 && k == 0);
        on_cuda[i].tensor.mutable_grad() =
            has_grad ? torch::randn(shapes[i]).to(cuda, dtype) : torch::Tensor();
        steps[i] += has_grad;
      }
      torch::Tensor scale;  // steps 0 and 2 clipped, 1 and 3 not
      if (k % 2 == 0) {
        scale = clip_coefficient(kernel.parameters(), 1.0).coefficient;
        ASSERT_LT(scale.item<float>(), 1.0f);
      }
      for (size_t i = 0; i < shapes.size(); ++i) {
        const torch::Tensor& grad = on_cuda[i].tensor.grad();
        on_cpu[i].tensor.mutable_grad() =
            !grad.defined() ? torch::Tensor()
                            : (scale.defined() ? grad.clone().mul_(scale) : grad).cpu();
      }
      const double lr = 1e-3 * (k + 1);
      kernel.step(lr, scale);
      reference.step(lr);
    }
    for (size_t i = 0; i < shapes.size(); ++i) {
      const std::string& name = on_cuda[i].name;
      SCOPED_TRACE(name);
      const torch::Tensor master = state_tensor(kernel, name + ".master").cpu();
      EXPECT_TRUE(all_close(master, state_tensor(reference, name + ".master"), 2e-6, 1e-8));
      EXPECT_TRUE(torch::equal(on_cuda[i].tensor.detach().cpu(), master.to(dtype)));
      EXPECT_TRUE(all_close(state_tensor(kernel, name + ".exp_avg").cpu(),
                            state_tensor(reference, name + ".exp_avg"), 1e-5, 1e-6));
      EXPECT_TRUE(all_close(state_tensor(kernel, name + ".exp_avg_sq").cpu(),
                            state_tensor(reference, name + ".exp_avg_sq"), 4e-6, 1e-12));
      EXPECT_EQ(state_tensor(kernel, name + ".step").item<int64_t>(), steps[i]);
      EXPECT_EQ(state_tensor(reference, name + ".step").item<int64_t>(), steps[i]);
    }
  }
}

TEST(AdamWState, ResumingContinuesBitForBitFp32) {
  expect_resume_is_bit_identical(torch::kFloat32);
}
TEST(AdamWState, ResumingContinuesBitForBitBf16WithMasterWeights) {
  expect_resume_is_bit_identical(torch::kBFloat16);
}

TEST(AdamWState, NamesEveryTensorOfEveryParameter) {
  AdamW fp32(small_model(torch::kFloat32, 5), AdamWSettings{});
  AdamW bf16(small_model(torch::kBFloat16, 5), AdamWSettings{});
  EXPECT_EQ(fp32.state().tensors.size(), 3u * 3);  // exp_avg, exp_avg_sq, step
  EXPECT_EQ(bf16.state().tensors.size(), 3u * 4);  // and master
  EXPECT_EQ(state_tensor(bf16, "model.norm.weight.master").scalar_type(), torch::kFloat32);
  EXPECT_EQ(state_tensor(bf16, "model.norm.weight.exp_avg").scalar_type(), torch::kFloat32);
}

std::string load_error(AdamW& optimizer, const std::map<std::string, torch::Tensor>& state) {
  try {
    optimizer.load_state(state, 1);
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(AdamWState, LoadRefusesMissingMismatchedAndForeignTensorsByName) {
  AdamW optimizer(small_model(torch::kBFloat16, 6), AdamWSettings{});
  const std::map<std::string, torch::Tensor> good = cloned_state(optimizer);

  auto missing = good;
  missing.erase("model.norm.weight.exp_avg_sq");
  EXPECT_NE(load_error(optimizer, missing).find("tensor model.norm.weight.exp_avg_sq is missing"),
            std::string::npos);

  auto reshaped = good;
  reshaped["model.layers.0.mlp.up_proj.weight.master"] = torch::zeros({4, 6});
  const std::string shape_error = load_error(optimizer, reshaped);
  EXPECT_NE(shape_error.find("model.layers.0.mlp.up_proj.weight.master has shape [4, 6]"),
            std::string::npos)
      << shape_error;
  EXPECT_NE(shape_error.find("[6, 4]"), std::string::npos) << shape_error;

  auto retyped = good;
  retyped["model.norm.weight.exp_avg"] = torch::zeros({4}, torch::kFloat64);
  EXPECT_NE(load_error(optimizer, retyped).find("model.norm.weight.exp_avg is Double"),
            std::string::npos);

  auto foreign = good;
  foreign["model.layers.9.mlp.up_proj.weight.exp_avg"] = torch::zeros({1});
  EXPECT_NE(load_error(optimizer, foreign)
                .find("model.layers.9.mlp.up_proj.weight.exp_avg belongs to no parameter"),
            std::string::npos);

  EXPECT_EQ(load_error(optimizer, good), "(no error)");
}

TEST(AdamWState, ARefusedLoadLeavesTheStateAsItWas) {
  std::vector<NamedParameter> parameters = small_model(torch::kFloat32, 7);
  AdamW optimizer(parameters, AdamWSettings{});
  set_random_grads(parameters, 1);
  optimizer.step(0.01);
  const std::map<std::string, torch::Tensor> before = cloned_state(optimizer);
  auto broken = before;
  for (auto& [name, tensor] : broken) tensor = torch::full_like(tensor, 7);
  broken.erase("model.norm.weight.step");
  EXPECT_THROW(optimizer.load_state(broken, 9), sdk::Error);
  for (const auto& [name, tensor] : before)
    EXPECT_TRUE(torch::equal(state_tensor(optimizer, name), tensor)) << name;
  EXPECT_EQ(optimizer.steps_taken(), 1);
}

TEST(AdamWSettings, ReadsJsonAndNamesTheBadField) {
  AdamWSettings s =
      AdamWSettings::from_json({{"lr", 1e-4}, {"betas", {0.8, 0.99}}, {"weight_decay", 0.01}});
  EXPECT_EQ(s.lr, 1e-4);
  EXPECT_EQ(s.beta1, 0.8);
  EXPECT_EQ(s.beta2, 0.99);
  EXPECT_EQ(s.eps, 1e-8);
  EXPECT_EQ(s.weight_decay, 0.01);
  const AdamWSettings defaults = AdamWSettings::from_json(nlohmann::json::object());
  EXPECT_EQ(defaults.lr, 3e-5);
  EXPECT_EQ(defaults.beta2, 0.95);
  EXPECT_EQ(defaults.weight_decay, 0.0);

  auto error = [](const nlohmann::json& j) {
    try {
      AdamWSettings::from_json(j);
    } catch (const sdk::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error({{"betas", {0.9, 1.0}}}).find("train: optimizer: field \"betas\""),
            std::string::npos);
  EXPECT_NE(error({{"betas", 0.9}}).find("\"betas\" must be [beta1, beta2]"), std::string::npos);
  EXPECT_NE(error({{"lr", "fast"}}).find("\"lr\" must be a number"), std::string::npos);
  EXPECT_NE(error({{"lr", -1}}).find("\"lr\" must be ≥ 0"), std::string::npos);
  EXPECT_NE(error({{"weight_decy", 0.1}}).find("\"weight_decy\" is not an AdamW setting"),
            std::string::npos);
}

TEST(AdamW, RefusesADuplicateParameterName) {
  torch::Tensor p = torch::zeros({2}).requires_grad_();
  try {
    AdamW optimizer({{"w", p}, {"w", p}}, AdamWSettings{});
    FAIL() << "accepted";
  } catch (const sdk::Error& e) {
    EXPECT_NE(std::string(e.what()).find("parameter w is given twice"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lmf::torch_backend::testing
