// The decode-step kernels (Note [Decode kernels]) against libtorch's composite operations
// — what the decoder computes without them — in every dtype they take. On a CUDA device;
// elsewhere only the "does not apply" case runs.
#include "decode_ops.h"
#include "fused_ops.h"

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

// Rows long enough to be split over several warps (Note [Loads in flight]): 2, 4 and 8
// warps a pair, several passes a warp, odd row counts; the pair's partial sums meet in a
// fixed order, so a second call gives the same bits.
TEST_P(DecodeOps, GemvSplitsLongRowsOverWarpsDeterministically) {
  for (auto [rows, width] : std::vector<std::pair<int64_t, int64_t>>{{64, 4096}, {5, 20000}, {3, 40000}, {1, 2048}}) {
    torch::Tensor w = random({rows, width}, dtype(), 40, 1.0 / std::sqrt(width));
    torch::Tensor x = random({1, 1, width}, dtype(), 41), residual = random({1, 1, rows}, dtype(), 42);
    fused::GemvEpilogue epilogue{{}, {}, 0.0, residual};
    ASSERT_TRUE(fused::gemv_applies(w, epilogue, x));
    torch::Tensor y = fused::gemv(x, w, epilogue);
    EXPECT_LE(relative_error(y, residual + torch::linear(x, w)), 4 * roundoff(dtype())) << rows << "x" << width;
    EXPECT_TRUE(torch::equal(y, fused::gemv(x, w, epilogue))) << rows << "x" << width;
  }
}

// The rotary embedding and the cache write in q/k/v's epilogue do what the separate
// rope_and_store kernel does with the projection's output, bit for bit (each row's sum is
// the same either way), and write nothing but the step's slot.
TEST_P(DecodeOps, GemvWithTheRotaryEmbeddingIsTheProjectionThenRopeAndStore) {
  struct Case {
    int64_t heads, kv_heads, head_dim, width;
    bool bias;
  };
  for (const Case& c : std::vector<Case>{{12, 2, 128, 1536, true},  // Qwen2-1.5B
                                         {32, 8, 128, 4096, false},  // Llama-8B: 4 warps a pair
                                         {4, 2, 16, 64, true},
                                         {3, 1, 64, 256, false}}) {
    const int64_t rows = (c.heads + 2 * c.kv_heads) * c.head_dim, capacity = 9, d = c.head_dim;
    const std::string name = std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) + " heads of " +
                             std::to_string(d) + ", width " + std::to_string(c.width);
    torch::Tensor w = random({rows, c.width}, dtype(), 50, 1.0 / std::sqrt(c.width));
    torch::Tensor x = random({1, 1, c.width}, dtype(), 51, 2.0), norm = random({c.width}, dtype(), 52);
    torch::Tensor bias = c.bias ? random({rows}, dtype(), 53) : torch::Tensor();
    torch::manual_seed(54);
    torch::Tensor angle = torch::rand({1, 1, 1, d}) * 6.3;
    torch::Tensor cos = angle.cos().to(torch::kCUDA, dtype()), sin = angle.sin().to(torch::kCUDA, dtype());
    torch::Tensor keys = random({1, c.kv_heads, capacity, d}, dtype(), 55);
    torch::Tensor values = random({1, c.kv_heads, capacity, d}, dtype(), 56);
    torch::Tensor keys_ref = keys.clone(), values_ref = values.clone();
    torch::Tensor slot = torch::full({1}, 5, torch::TensorOptions().dtype(torch::kInt64).device(torch::kCUDA));

    fused::GemvEpilogue epilogue{bias, norm, 1e-6};
    const torch::Tensor projected = fused::gemv(x, w, epilogue);
    auto heads = [&](int64_t from, int64_t count) {
      return projected.narrow(-1, from, count * d).view({1, 1, count, d}).transpose(1, 2);
    };
    const int64_t q_size = c.heads * d, kv_size = c.kv_heads * d;
    torch::Tensor q_ref = fused::rope_and_store(heads(0, c.heads), heads(q_size, c.kv_heads),
                                                heads(q_size + kv_size, c.kv_heads), cos, sin, keys_ref, values_ref,
                                                slot);

    epilogue.rope = {cos, sin, keys, values, slot, c.heads, c.kv_heads};
    ASSERT_TRUE(fused::gemv_rope_applies(w, epilogue.rope, x)) << name;
    ASSERT_TRUE(fused::gemv_applies(w, epilogue, x)) << name;
    torch::Tensor y = fused::gemv(x, w, epilogue);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, rows}));
    EXPECT_TRUE(torch::equal(y.narrow(-1, 0, q_size).view({1, c.heads, 1, d}), q_ref)) << name;
    EXPECT_TRUE(torch::equal(keys, keys_ref)) << name;  // slot 5 written, the others untouched
    EXPECT_TRUE(torch::equal(values, values_ref)) << name;
  }
}

TEST_P(DecodeOps, GemvRotaryEmbeddingDoesNotApplyWhereItCannotWrite) {
  const int64_t d = 16, width = 64;
  torch::Tensor x = random({1, 1, width}, dtype(), 60), w = random({(4 + 2 * 2) * d, width}, dtype(), 61);
  torch::Tensor cos = random({1, 1, 1, d}, dtype(), 62), cache = random({1, 2, 8, d}, dtype(), 63);
  torch::Tensor slot = torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt64).device(torch::kCUDA));
  const fused::GemvRopeStore rope{cos, cos, cache, cache.clone(), slot, 4, 2};
  EXPECT_TRUE(fused::gemv_rope_applies(w, rope, x));
  EXPECT_FALSE(fused::gemv_rope_applies(w.narrow(0, 0, 7 * d), rope, x)) << "rows of 7 heads for 4 + 2 · 2";
  EXPECT_FALSE(fused::gemv_rope_applies(w, {cos, cos, cache, cache.clone(), slot.to(torch::kInt32), 4, 2}, x))
      << "an int32 slot";
  EXPECT_FALSE(fused::gemv_rope_applies(w, {cos, cos, cache, cache.narrow(2, 0, 4), slot, 4, 2}, x))
      << "caches of two layouts";
  torch::Tensor cache15 = random({1, 2, 8, 15}, dtype(), 64);
  EXPECT_FALSE(fused::gemv_rope_applies(random({8 * 15, width}, dtype(), 65),
                                        {cos.narrow(-1, 0, 15), cos.narrow(-1, 0, 15), cache15, cache15.clone(), slot,
                                         4, 2},
                                        x))
      << "odd head_dim";
  fused::GemvEpilogue with_residual{{}, {}, 0.0, random({1, 1, w.size(0)}, dtype(), 66)};
  with_residual.rope = rope;
  EXPECT_FALSE(fused::gemv_applies(w, with_residual, x)) << "a residual besides";
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
                                                           {1, 20, 2, 64, 100},
                                                           // 8 chunks: the most merged in a cluster;
                                                           {1, 12, 2, 128, 500, 512},
                                                           // 9: merged through device memory
                                                           {1, 8, 2, 64, 520, 576}}) {
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

// A decode step's q/k/v kernel writes the newest key and value, and the attention kernel
// launched right after it (overlapped: Note [Overlapped launches]) reads the older ones
// before it waits for it — the newest only after. The old caches are small, so that a
// stale newest key or value would show.
TEST_P(DecodeOps, DecodeAttentionSeesTheKeyTheGemvBeforeItWrote) {
  const int64_t heads = 12, kv_heads = 2, d = 128, width = 1536, capacity = 320;  // Qwen2-1.5B
  const int64_t rows = (heads + 2 * kv_heads) * d, q_size = heads * d;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  torch::Tensor w = random({rows, width}, dtype(), 70, 1.0 / std::sqrt(width));
  torch::Tensor x = random({1, 1, width}, dtype(), 71, 2.0), norm = random({width}, dtype(), 72);
  torch::manual_seed(73);
  torch::Tensor angle = torch::rand({1, 1, 1, d}) * 6.3;
  torch::Tensor cos = angle.cos().to(torch::kCUDA, dtype()), sin = angle.sin().to(torch::kCUDA, dtype());
  const auto scratch = fused::DecodeAttentionScratch::make(1, heads, d, capacity, torch::kCUDA);
  for (int64_t keys : {int64_t{2}, int64_t{65}, int64_t{201}}) {  // the newest key first in its chunk, or last
    torch::Tensor k_cache = random({1, kv_heads, capacity, d}, dtype(), 74, 0.1);
    torch::Tensor v_cache = random({1, kv_heads, capacity, d}, dtype(), 75, 0.1);
    torch::Tensor slot = torch::full({1}, keys - 1, torch::TensorOptions().dtype(torch::kInt64).device(torch::kCUDA));
    fused::GemvEpilogue epilogue{{}, norm, 1e-6};
    epilogue.rope = {cos, sin, k_cache, v_cache, slot, heads, kv_heads};
    ASSERT_TRUE(fused::gemv_rope_applies(w, epilogue.rope, x));
    torch::Tensor q = fused::gemv(x, w, epilogue).narrow(-1, 0, q_size).view({1, 1, heads, d}).transpose(1, 2);
    torch::Tensor out = fused::decode_attention(q, k_cache, v_cache, {}, slot, capacity, scale, scratch);
    EXPECT_LE(relative_error(out, reference_attention(q, k_cache, v_cache, {}, keys, scale)), 2 * roundoff(dtype()))
        << keys << " keys";
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
