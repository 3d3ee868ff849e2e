// The fused CUDA kernels (Note [Fused kernels]) against libtorch's composite operations —
// the decoder's own fallback, transformers' formulas — forward and backward, in every
// dtype the kernels take. On a CUDA device; only the "does not apply" cases run elsewhere.
#include "fused_ops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lmf::torch_backend {
namespace {

torch::Tensor reference_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  torch::Tensor x32 = x.to(torch::kFloat32);
  torch::Tensor variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x32 * torch::rsqrt(variance + eps)).to(x.scalar_type());
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

torch::Tensor reference_rope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;
}

// Largest |a − b| relative to the largest |b|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor a32 = a.to(torch::kFloat32).cpu(), b32 = b.to(torch::kFloat32).cpu();
  return (a32 - b32).abs().max().item<double>() / std::max(1e-30, b32.abs().max().item<double>());
}

// A dtype's unit roundoff: what one rounding of an fp32 result may change.
double roundoff(torch::ScalarType dtype) {
  return dtype == torch::kBFloat16 ? 1.0 / 256 : dtype == torch::kFloat16 ? 1.0 / 2048 : 5e-6;
}

// A leaf on the device with values of a typical activation's spread.
torch::Tensor activation(std::vector<int64_t> shape, torch::ScalarType dtype, uint64_t seed) {
  torch::manual_seed(seed);
  return (torch::randn(shape) * 2).to(torch::kCUDA, dtype).requires_grad_(true);
}

class FusedOps : public ::testing::TestWithParam<torch::ScalarType> {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
  torch::ScalarType dtype() const { return GetParam(); }
};

TEST_P(FusedOps, RmsNormMatchesTheCompositeForwardAndBackward) {
  const double eps = 1e-6;
  for (int64_t width : {64, 1536, 4096}) {
    torch::Tensor x = activation({3, 5, width}, dtype(), 1), w = activation({width}, dtype(), 2);
    torch::Tensor x_ref = x.detach().clone().requires_grad_(true), w_ref = w.detach().clone().requires_grad_(true);
    ASSERT_TRUE(fused::rms_norm_applies(x, w));
    torch::Tensor y = fused::rms_norm(x, w, eps), y_ref = reference_rms_norm(x_ref, w_ref, eps);
    // The row's sum of squares is summed in another order: at most one rounding apart.
    EXPECT_LE(relative_error(y, y_ref), 2 * roundoff(dtype())) << "width " << width;
    torch::Tensor dy = activation({3, 5, width}, dtype(), 3).detach();
    y.backward(dy);
    y_ref.backward(dy);
    // The composite rounds dy·w to the dtype before widening; the kernel keeps it in fp32.
    EXPECT_LE(relative_error(x.grad(), x_ref.grad()), 4 * roundoff(dtype())) << "width " << width;
    EXPECT_LE(relative_error(w.grad(), w_ref.grad()), 4 * roundoff(dtype())) << "width " << width;
  }
}

TEST_P(FusedOps, RmsNormLeavesAFrozenWeightWithoutGradient) {
  torch::Tensor x = activation({4, 256}, dtype(), 4), w = activation({256}, dtype(), 5).detach();
  torch::Tensor x_ref = x.detach().clone().requires_grad_(true);
  torch::Tensor dy = activation({4, 256}, dtype(), 6).detach();
  fused::rms_norm(x, w, 1e-5).backward(dy);
  reference_rms_norm(x_ref, w, 1e-5).backward(dy);
  EXPECT_FALSE(w.grad().defined());
  EXPECT_LE(relative_error(x.grad(), x_ref.grad()), 4 * roundoff(dtype()));
}

TEST_P(FusedOps, SwigluMatchesTheCompositeBitForBitAndItsGradients) {
  torch::Tensor gate = activation({2, 7, 96}, dtype(), 7), up = activation({2, 7, 96}, dtype(), 8);
  torch::Tensor gate_ref = gate.detach().clone().requires_grad_(true), up_ref = up.detach().clone().requires_grad_(true);
  ASSERT_TRUE(fused::swiglu_applies(gate, up));
  torch::Tensor out = fused::swiglu(gate, up), out_ref = torch::silu(gate_ref) * up_ref;
  EXPECT_TRUE(torch::equal(out, out_ref)) << relative_error(out, out_ref);
  torch::Tensor dy = activation({2, 7, 96}, dtype(), 9).detach();
  out.backward(dy);
  out_ref.backward(dy);
  EXPECT_TRUE(torch::equal(up.grad(), up_ref.grad())) << relative_error(up.grad(), up_ref.grad());
  EXPECT_LE(relative_error(gate.grad(), gate_ref.grad()), 2 * roundoff(dtype()));
}

TEST_P(FusedOps, PackedSwigluReadsGateThenUpAndReturnsOneGradient) {
  torch::Tensor gate_up = activation({3, 4, 2 * 64}, dtype(), 10);
  torch::Tensor ref = gate_up.detach().clone().requires_grad_(true);
  ASSERT_TRUE(fused::swiglu_packed_applies(gate_up));
  torch::Tensor out = fused::swiglu_packed(gate_up);
  torch::Tensor out_ref = torch::silu(ref.narrow(-1, 0, 64)) * ref.narrow(-1, 64, 64);
  EXPECT_TRUE(torch::equal(out, out_ref));
  torch::Tensor dy = activation({3, 4, 64}, dtype(), 11).detach();
  out.backward(dy);
  out_ref.backward(dy);
  EXPECT_LE(relative_error(gate_up.grad(), ref.grad()), 2 * roundoff(dtype()));
  EXPECT_TRUE(torch::equal(gate_up.grad().narrow(-1, 64, 64), ref.grad().narrow(-1, 64, 64)));
}

TEST_P(FusedOps, SwigluTakesRowsOfAWiderProjection) {
  // gate and up as column slices of one [rows, 3·width] tensor: rows 3·width apart.
  torch::Tensor wide = activation({5, 3 * 32}, dtype(), 12).detach();
  torch::Tensor gate = wide.narrow(-1, 0, 32), up = wide.narrow(-1, 64, 32);
  ASSERT_TRUE(fused::swiglu_applies(gate, up));
  EXPECT_TRUE(torch::equal(fused::swiglu(gate, up), torch::silu(gate) * up));
}

TEST_P(FusedOps, RopeMatchesTheCompositeBitForBitOnStridedHeads) {
  const int64_t batch = 2, steps = 6, heads = 4, dim = 32;
  // As the decoder has q: [B,T,H·D] from the projection viewed as [B,H,T,D].
  torch::Tensor projected = activation({batch, steps, heads * dim}, dtype(), 13);
  torch::Tensor q = projected.view({batch, steps, heads, dim}).transpose(1, 2);
  torch::Tensor ref_leaf = projected.detach().clone().requires_grad_(true);
  torch::Tensor q_ref = ref_leaf.view({batch, steps, heads, dim}).transpose(1, 2);
  torch::manual_seed(14);
  torch::Tensor angle = torch::rand({batch, 1, steps, dim}) * 6.3;
  torch::Tensor cos = angle.cos().to(torch::kCUDA, dtype()), sin = angle.sin().to(torch::kCUDA, dtype());
  ASSERT_TRUE(fused::rope_applies(q, cos, sin));
  torch::Tensor out = fused::rope(q, cos, sin), out_ref = reference_rope(q_ref, cos, sin);
  EXPECT_TRUE(torch::equal(out, out_ref)) << relative_error(out, out_ref);
  torch::Tensor dy = activation({batch, heads, steps, dim}, dtype(), 15).detach();
  out.backward(dy);
  out_ref.backward(dy);
  EXPECT_LE(relative_error(projected.grad(), ref_leaf.grad()), 2 * roundoff(dtype()));
}

TEST_P(FusedOps, RopeAndStoreRotatesQAndWritesTheCacheSlotAsTheUnfusedStep) {
  const int64_t batch = 3, heads = 4, kv_heads = 2, dim = 16, capacity = 9;
  torch::NoGradGuard no_grad;
  // As a decode step has them: one step of each projection viewed as [B,heads,1,D].
  auto step = [&](int64_t count, uint64_t seed) {
    return activation({batch, 1, count * dim}, dtype(), seed).detach().view({batch, 1, count, dim}).transpose(1, 2);
  };
  torch::Tensor q = step(heads, 16), k = step(kv_heads, 17), v = step(kv_heads, 18);
  torch::manual_seed(19);
  torch::Tensor angle = torch::rand({batch, 1, 1, dim}) * 6.3;
  torch::Tensor cos = angle.cos().to(torch::kCUDA, dtype()), sin = angle.sin().to(torch::kCUDA, dtype());
  torch::Tensor keys = activation({batch, kv_heads, capacity, dim}, dtype(), 20).detach();
  torch::Tensor values = activation({batch, kv_heads, capacity, dim}, dtype(), 21).detach();
  torch::Tensor keys_ref = keys.clone(), values_ref = values.clone();
  torch::Tensor slot = torch::full({1}, 5, torch::TensorOptions().dtype(torch::kInt64).device(torch::kCUDA));
  ASSERT_TRUE(fused::rope_and_store_applies(q, k, v, cos, sin, keys));
  torch::Tensor q_rotated = fused::rope_and_store(q, k, v, cos, sin, keys, values, slot);
  EXPECT_TRUE(torch::equal(q_rotated, reference_rope(q, cos, sin)));
  keys_ref.index_copy_(2, slot, reference_rope(k, cos, sin));
  values_ref.index_copy_(2, slot, v);
  EXPECT_TRUE(torch::equal(keys, keys_ref));  // slot 5 written, the others untouched
  EXPECT_TRUE(torch::equal(values, values_ref));
}

TEST_P(FusedOps, RopeAndStoreLeavesGradientsToTheAutogradPath) {
  torch::Tensor q = activation({1, 2, 1, 16}, dtype(), 22), k = activation({1, 1, 1, 16}, dtype(), 23);
  torch::Tensor cos = torch::ones({1, 1, 1, 16}, q.options().requires_grad(false));
  torch::Tensor keys = torch::zeros({1, 1, 4, 16}, cos.options());
  EXPECT_FALSE(fused::rope_and_store_applies(q, k, k.detach(), cos, cos, keys));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FusedOps, ::testing::Values(torch::kFloat32, torch::kFloat16, torch::kBFloat16),
                         [](const auto& test) { return std::string(c10::toString(test.param)); });

TEST(FusedOpsApply, NotToCpuTensorsOrRowsTheVectorsCannotWalk) {
  torch::Tensor x = torch::randn({2, 64}), w = torch::randn({64});
  EXPECT_FALSE(fused::rms_norm_applies(x, w));
  EXPECT_FALSE(fused::swiglu_applies(x, x));
  EXPECT_FALSE(fused::rope_applies(x.view({1, 1, 2, 64}), x.view({1, 1, 2, 64}), x.view({1, 1, 2, 64})));
  if (!torch::cuda::is_available()) return;
  torch::Tensor odd = torch::randn({2, 12}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kBFloat16));
  EXPECT_FALSE(fused::rms_norm_applies(odd, odd[0]));  // 12 bf16: not whole 16-byte vectors
  EXPECT_FALSE(fused::swiglu_applies(odd, odd));
  torch::Tensor ints = torch::ones({2, 64}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kInt32));
  EXPECT_FALSE(fused::rms_norm_applies(ints, ints[0]));
}

}  // namespace
}  // namespace lmf::torch_backend
