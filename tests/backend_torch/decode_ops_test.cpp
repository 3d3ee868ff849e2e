// The decode-step kernels (Note [Decode kernels]) against libtorch's composite operations
// — what the decoder computes without them — in every dtype they take. On a CUDA device;
// elsewhere only the "does not apply" case runs.
#include "decode_ops.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace lmf::torch_backend {
namespace {

// Largest |a − b| relative to the largest |b|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  torch::Tensor a32 = a.to(torch::kFloat32).cpu(), b32 = b.to(torch::kFloat32).cpu();
  return (a32 - b32).abs().max().item<double>() / std::max(1e-30, b32.abs().max().item<double>());
}

// A dtype's unit roundoff: what one rounding of an fp32 result may change.
double roundoff(torch::ScalarType dtype) {
  return dtype == torch::kBFloat16 ? 1.0 / 256 : dtype == torch::kFloat16 ? 1.0 / 2048 : 5e-6;
}

torch::Tensor random(std::vector<int64_t> shape, torch::ScalarType dtype, uint64_t seed, double scale = 1.0) {
  torch::manual_seed(seed);
  return (torch::randn(shape) * scale).to(torch::kCUDA, dtype);
}

torch::Tensor reference_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  torch::Tensor x32 = x.to(torch::kFloat32);
  torch::Tensor variance = x32.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (x32 * torch::rsqrt(variance + eps)).to(x.scalar_type());
}

class DecodeOps : public ::testing::TestWithParam<torch::ScalarType> {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
  torch::ScalarType dtype() const { return GetParam(); }
  torch::NoGradGuard no_grad_;
};

// The matrix shapes of the decode step: Qwen2-1.5B's q/k/v (2048 × 1536), down
// (1536 × 8960), a tiny fixture's (96 × 64), and an odd row count.
const std::vector<std::pair<int64_t, int64_t>> kShapes = {{2048, 1536}, {1536, 8960}, {96, 64}, {37, 256}};

TEST_P(DecodeOps, GemvMatchesLinearWithItsBias) {
  for (auto [rows, width] : kShapes) {
    torch::Tensor w = random({rows, width}, dtype(), 1, 1.0 / std::sqrt(width));
    torch::Tensor x = random({1, 1, width}, dtype(), 2), bias = random({rows}, dtype(), 3);
    ASSERT_TRUE(fused::gemv_applies(w, {bias}, x));
    torch::Tensor y = fused::gemv(x, w, {bias});
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, rows}));
    // The row's fp32 sum in another order, then one rounding: at most one rounding apart.
    EXPECT_LE(relative_error(y, torch::linear(x, w, bias)), 2 * roundoff(dtype())) << rows << "x" << width;
    EXPECT_LE(relative_error(fused::gemv(x, w, {}), torch::linear(x, w)), 2 * roundoff(dtype()));
  }
}

TEST_P(DecodeOps, GemvNormalisesItsInputFirstAndAddsTheResidualAfter) {
  const double eps = 1e-6;
  for (auto [rows, width] : kShapes) {
    torch::Tensor w = random({rows, width}, dtype(), 4, 1.0 / std::sqrt(width));
    torch::Tensor x = random({1, 1, width}, dtype(), 5, 3.0), norm = random({width}, dtype(), 6);
    torch::Tensor residual = random({1, 1, rows}, dtype(), 7);
    fused::GemvEpilogue epilogue{{}, norm, eps, residual};
    ASSERT_TRUE(fused::gemv_applies(w, epilogue, x));
    torch::Tensor expected = residual + torch::linear(reference_rms_norm(x, norm, eps), w);
    // The norm's sum of squares and the row's sum in other orders: a normalised element
    // may round the other way, and the output carries two roundings.
    EXPECT_LE(relative_error(fused::gemv(x, w, epilogue), expected), 4 * roundoff(dtype())) << rows << "x" << width;
  }
}

TEST_P(DecodeOps, GemvSwigluReadsGateRowsThenUpRows) {
  const double eps = 1e-5;
  for (auto [rows, width] : std::vector<std::pair<int64_t, int64_t>>{{2 * 8960, 1536}, {2 * 96, 64}}) {
    torch::Tensor w = random({rows, width}, dtype(), 8, 1.0 / std::sqrt(width));
    torch::Tensor x = random({1, 1, width}, dtype(), 9), norm = random({width}, dtype(), 10);
    torch::Tensor bias = random({rows}, dtype(), 11);
    fused::GemvEpilogue epilogue{bias, norm, eps, {}, /*swiglu=*/true};
    ASSERT_TRUE(fused::gemv_applies(w, epilogue, x));
    torch::Tensor projected = torch::linear(reference_rms_norm(x, norm, eps), w, bias);
    torch::Tensor expected = torch::silu(projected.narrow(-1, 0, rows / 2)) * projected.narrow(-1, rows / 2, rows / 2);
    torch::Tensor y = fused::gemv(x, w, epilogue);
    EXPECT_EQ(y.size(-1), rows / 2);
    EXPECT_LE(relative_error(y, expected), 6 * roundoff(dtype())) << rows << "x" << width;
  }
}

TEST_P(DecodeOps, GemvDoesNotApplyToWeightsItCannotRead) {
  torch::Tensor x = random({1, 1, 64}, dtype(), 12);
  EXPECT_FALSE(fused::gemv_applies(random({8, 64}, dtype(), 13).t(), {}, x)) << "columns not contiguous";
  EXPECT_FALSE(fused::gemv_applies(random({7, 64}, dtype(), 13), {{}, {}, 0.0, {}, true}, x)) << "odd SwiGLU rows";
  EXPECT_FALSE(fused::gemv_applies(random({8, 64}, torch::kFloat64, 13), {}, x)) << "another dtype";
  EXPECT_FALSE(fused::gemv_applies(random({8, 64}, dtype(), 13), {random({9}, dtype(), 14)}, x)) << "bias size";
}

// softmax(q·kᵀ·scale) · v in fp32 over the valid keys, for q [B,H,1,D] and caches
// [B,KV,capacity,D], as [B,1,H·D].
torch::Tensor reference_attention(const torch::Tensor& q, const torch::Tensor& k_cache, const torch::Tensor& v_cache,
                                  const torch::Tensor& key_valid, int64_t keys, double scale) {
  const int64_t batch = q.size(0), heads = q.size(1), kv_heads = k_cache.size(1), d = q.size(3);
  torch::Tensor k = k_cache.narrow(2, 0, keys).to(torch::kFloat32).repeat_interleave(heads / kv_heads, 1);
  torch::Tensor v = v_cache.narrow(2, 0, keys).to(torch::kFloat32).repeat_interleave(heads / kv_heads, 1);
  torch::Tensor scores = torch::matmul(q.to(torch::kFloat32), k.transpose(2, 3)) * scale;  // [B,H,1,keys]
  if (key_valid.defined())
    scores = scores.masked_fill(key_valid.narrow(1, 0, keys).logical_not().view({batch, 1, 1, keys}),
                                -std::numeric_limits<float>::infinity());
  torch::Tensor out = torch::matmul(torch::softmax(scores, -1), v);  // [B,H,1,D]
  return out.transpose(1, 2).reshape({batch, 1, heads * d}).to(q.scalar_type());
}

struct AttentionCase {
  int64_t batch, heads, kv_heads, head_dim, keys;
  int64_t capacity = 320;  // > 4096: chunks of several 64-key tiles, the running softmax rescaled
};

TEST_P(DecodeOps, DecodeAttentionMatchesTheSoftmaxOverTheValidKeys) {
  for (const AttentionCase& c : std::vector<AttentionCase>{{1, 12, 2, 128, 257},
                                                           {1, 12, 2, 128, 4500, 5000},
                                                           {2, 4, 2, 64, 4096, 5000},
                                                           {1, 12, 2, 128, 1},
                                                           {2, 32, 8, 128, 64},
                                                           {3, 4, 2, 16, 65},
                                                           {2, 8, 1, 64, 63},
                                                           {1, 4, 4, 32, 320},
                                                           {1, 20, 2, 64, 100}}) {
    const int64_t capacity = c.capacity;
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));
    torch::Tensor q = random({c.batch, c.heads, 1, c.head_dim}, dtype(), 20);
    torch::Tensor k_cache = random({c.batch, c.kv_heads, capacity, c.head_dim}, dtype(), 21);
    torch::Tensor v_cache = random({c.batch, c.kv_heads, capacity, c.head_dim}, dtype(), 22);
    // Left padding in every sequence but the first; the newest key always valid.
    torch::Tensor key_valid = torch::ones({c.batch, capacity}, torch::kBool);
    for (int64_t b = 1; b < c.batch; ++b) key_valid[b].narrow(0, 0, std::min<int64_t>(b * 7, c.keys - 1)).fill_(false);
    key_valid = key_valid.to(torch::kCUDA);
    ASSERT_TRUE(fused::decode_attention_applies(q, k_cache, key_valid));
    const auto scratch = fused::DecodeAttentionScratch::make(c.batch, c.heads, c.head_dim, capacity, torch::kCUDA);
    torch::Tensor expected = reference_attention(q, k_cache, v_cache, key_valid, c.keys, scale);
    const std::string name = std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " heads of " +
                             std::to_string(c.head_dim) + ", " + std::to_string(c.keys) + " keys";
    // Keys counted on the host (an eager step) …
    torch::Tensor out = fused::decode_attention(q, k_cache, v_cache, key_valid, {}, c.keys, 1.0 * scale, scratch);
    EXPECT_LE(relative_error(out, expected), 2 * roundoff(dtype())) << name;
    // … or read from the slot on the device (a graph's step), the grid covering the cache.
    torch::Tensor slot = torch::full({1}, c.keys - 1, torch::kInt64).to(torch::kCUDA);
    torch::Tensor from_slot = fused::decode_attention(q, k_cache, v_cache, key_valid, slot, capacity, scale, scratch);
    EXPECT_LE(relative_error(from_slot, expected), 2 * roundoff(dtype())) << name << " (slot)";
    // Without padding the mask may be left out.
    EXPECT_LE(relative_error(fused::decode_attention(q, k_cache, v_cache, {}, {}, c.keys, scale, scratch),
                             reference_attention(q, k_cache, v_cache, {}, c.keys, scale)),
              2 * roundoff(dtype()))
        << name << " (no mask)";
    // The counters are left at zero for the next call.
    EXPECT_EQ(scratch.counters.nonzero().size(0), 0) << name;
  }
}

TEST_P(DecodeOps, DecodeAttentionDoesNotApplyToShapesItLacks) {
  torch::Tensor cache = random({1, 2, 8, 128}, dtype(), 30);
  EXPECT_FALSE(fused::decode_attention_applies(random({1, 5, 1, 128}, dtype(), 31), cache, {})) << "5 heads on 2";
  EXPECT_FALSE(fused::decode_attention_applies(random({1, 4, 2, 128}, dtype(), 31), cache, {})) << "two queries";
  torch::Tensor cache96 = random({1, 2, 8, 96}, dtype(), 30);
  EXPECT_FALSE(fused::decode_attention_applies(random({1, 4, 1, 96}, dtype(), 31), cache96, {})) << "head_dim 96";
}

INSTANTIATE_TEST_SUITE_P(Dtypes, DecodeOps, ::testing::Values(torch::kFloat32, torch::kFloat16, torch::kBFloat16),
                         [](const auto& param_info) { return std::string(c10::toString(param_info.param)); });

TEST(DecodeOpsOnCpu, NothingAppliesToCpuTensors) {
  torch::Tensor x = torch::randn({1, 1, 64}), w = torch::randn({8, 64});
  EXPECT_FALSE(fused::gemv_applies(w, {}, x));
  EXPECT_FALSE(fused::decode_attention_applies(torch::randn({1, 4, 1, 16}), torch::randn({1, 2, 8, 16}), {}));
}

}  // namespace
}  // namespace lmf::torch_backend
