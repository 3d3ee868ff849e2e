// The chunked LM loss (training/lm_loss.h): equal to torch's cross-entropy over the full
// logits, values and grads, for chunk sizes that do and do not divide the rows, in fp32
// and bf16; against PyTorch's numbers from the fixture; a frozen head; the label shift;
// per-sequence log-probabilities; bad input. The summed loss's gradient-in-forward path
// against the per-token path and the full logits, for every combination of wanted
// gradients; on a CUDA device, its row kernel against the libtorch composite.
#include "training/cross_entropy_rows.h"
#include "training/lm_loss.h"
#include "optimizer_fixtures.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend::testing {
namespace {

namespace F = torch::nn::functional;

struct LossAndGrads {
  torch::Tensor loss, grad_hidden, grad_weight;
};

// The plain way: all logits at once, torch's cross-entropy (sum, -100 ignored), autograd.
// The matmul runs in the inputs' dtype and the logits are widened, as transformers does.
LossAndGrads full_logits_reference(const torch::Tensor& hidden, const torch::Tensor& weight,
                                   const torch::Tensor& labels, double scale = 1.0) {
  torch::Tensor h = hidden.detach().clone().requires_grad_();
  torch::Tensor w = weight.detach().clone().requires_grad_();
  torch::Tensor logits = torch::linear(h, w).to(torch::kFloat32);
  torch::Tensor loss = F::cross_entropy(
      logits, labels, F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kSum));
  (loss * scale).backward();
  return {loss.detach(), h.grad(), w.grad()};
}

// Whether this libtorch's CPU bf16 matmul keeps fp32 sums, as CUDA and libtorch 2.x do.
// Debian's libtorch 1.13 does only on CPUs with AVX512-BF16; elsewhere (e.g. AMD EPYC
// without AVX-512) it rounds partial sums to bf16, ~7% off over 1000 products, and a bf16
// comparison would measure that, not the loss.
bool cpu_bf16_matmul_sums_in_fp32() {
  torch::manual_seed(11);
  const torch::Tensor a = torch::randn({16, 1000}).to(torch::kBFloat16);
  const torch::Tensor b = torch::randn({1000, 16}).to(torch::kBFloat16);
  const torch::Tensor exact = a.to(torch::kFloat32).mm(b.to(torch::kFloat32));
  const torch::Tensor got = a.mm(b).to(torch::kFloat32);
  return ((got - exact).abs().max() / exact.abs().max()).item<double>() < 1e-2;
}

#define SKIP_WITHOUT_FP32_SUMS_IN_CPU_BF16_MATMUL()                                      \
  if (!cpu_bf16_matmul_sums_in_fp32())                                                   \
  GTEST_SKIP() << "this libtorch's CPU bf16 matmul sums in bf16 (see "                    \
                  "cpu_bf16_matmul_sums_in_fp32); the bf16 comparison needs fp32 sums"

LossAndGrads chunked(const torch::Tensor& hidden, const torch::Tensor& weight,
                     const torch::Tensor& labels, int64_t chunk_rows, double scale = 1.0) {
  torch::Tensor h = hidden.detach().clone().requires_grad_();
  torch::Tensor w = weight.detach().clone().requires_grad_();
  LossSum out = causal_lm_loss_sum(h, w, labels, chunk_rows);
  (out.sum * scale).backward();
  return {out.sum.detach(), h.grad(), w.grad()};
}

// Within `tolerance` of the largest expected magnitude, element by element.
::testing::AssertionResult near_relative_to_max(const torch::Tensor& actual,
                                                const torch::Tensor& expected, double tolerance) {
  return all_close(actual.to(torch::kFloat32), expected.to(torch::kFloat32), 0,
                   tolerance * expected.abs().max().item<double>());
}

struct Problem {
  torch::Tensor hidden, weight, labels;
};

// 50 rows (9 ignored, the first and last among them), width 16, vocabulary 300.
Problem random_problem(uint64_t seed) {
  torch::manual_seed(seed);
  Problem p{torch::randn({50, 16}), torch::randn({300, 16}) * 0.3,
            torch::randint(0, 300, {50}, torch::kInt64)};
  for (int64_t row : {0, 3, 4, 17, 18, 19, 30, 48, 49}) p.labels[row] = kIgnoreIndex;
  return p;
}

TEST(ChunkedLmLoss, EqualsFullLogitsCrossEntropyInFp32ForEveryChunkSize) {
  const Problem p = random_problem(1);
  const LossAndGrads expected = full_logits_reference(p.hidden, p.weight, p.labels, 1.0 / 7);
  for (int64_t chunk_rows : {1, 7, 16, 50, 64}) {
    SCOPED_TRACE("chunk_rows " + std::to_string(chunk_rows));
    const LossAndGrads actual = chunked(p.hidden, p.weight, p.labels, chunk_rows, 1.0 / 7);
    EXPECT_NEAR(actual.loss.item<double>(), expected.loss.item<double>(),
                1e-5 * expected.loss.item<double>());
    EXPECT_TRUE(near_relative_to_max(actual.grad_hidden, expected.grad_hidden, 1e-5));
    EXPECT_TRUE(near_relative_to_max(actual.grad_weight, expected.grad_weight, 1e-5));
    EXPECT_EQ(actual.grad_hidden.scalar_type(), torch::kFloat32);
  }
}

TEST(ChunkedLmLoss, EqualsFullLogitsCrossEntropyInBf16WithBf16Grads) {
  SKIP_WITHOUT_FP32_SUMS_IN_CPU_BF16_MATMUL();
  const Problem p = random_problem(2);
  const torch::Tensor hidden = p.hidden.to(torch::kBFloat16),
                      weight = p.weight.to(torch::kBFloat16);
  const LossAndGrads expected = full_logits_reference(hidden, weight, p.labels);
  for (int64_t chunk_rows : {7, 50}) {
    SCOPED_TRACE("chunk_rows " + std::to_string(chunk_rows));
    const LossAndGrads actual = chunked(hidden, weight, p.labels, chunk_rows);
    EXPECT_NEAR(actual.loss.item<double>(), expected.loss.item<double>(),
                1e-4 * expected.loss.item<double>());
    EXPECT_EQ(actual.grad_hidden.scalar_type(), torch::kBFloat16);
    EXPECT_EQ(actual.grad_weight.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(near_relative_to_max(actual.grad_hidden, expected.grad_hidden, 1e-2));
    EXPECT_TRUE(near_relative_to_max(actual.grad_weight, expected.grad_weight, 1e-2));
  }
}

TEST(ChunkedLmLoss, CountsTheTokensThatAreNotIgnored) {
  const Problem p = random_problem(3);
  const LossSum out = causal_lm_loss_sum(p.hidden, p.weight, p.labels, 8);
  EXPECT_EQ(out.tokens.item<int64_t>(), 41);
  EXPECT_EQ(out.tokens.scalar_type(), torch::kInt64);
}

TEST(ChunkedLmLoss, AFrozenHeadGetsNoGradAndTheHiddenStatesTheirs) {
  const Problem p = random_problem(4);
  const LossAndGrads expected = full_logits_reference(p.hidden, p.weight, p.labels);
  torch::Tensor h = p.hidden.clone().requires_grad_();
  causal_lm_loss_sum(h, p.weight, p.labels, 9).sum.backward();
  EXPECT_FALSE(p.weight.grad().defined());
  EXPECT_TRUE(near_relative_to_max(h.grad(), expected.grad_hidden, 1e-5));
}

TEST(ChunkedLmLoss, TakesBatchShapedAndNonContiguousHiddenStates) {
  const Problem p = random_problem(5);
  const LossAndGrads expected = full_logits_reference(p.hidden, p.weight, p.labels);
  // [2, 25, 16] from a transposed buffer: not contiguous.
  torch::Tensor h = p.hidden.t().contiguous().t().reshape({2, 25, 16}).detach().requires_grad_();
  ASSERT_FALSE(h.is_contiguous());
  LossSum out = causal_lm_loss_sum(h, p.weight, p.labels.view({2, 25}), 6);
  out.sum.backward();
  EXPECT_NEAR(out.sum.item<double>(), expected.loss.item<double>(),
              1e-5 * expected.loss.item<double>());
  EXPECT_TRUE(near_relative_to_max(h.grad().reshape({50, 16}), expected.grad_hidden, 1e-5));
}

TEST(ChunkedLmLoss, AllIgnoredGivesZeroLossAndZeroGrads) {
  Problem p = random_problem(6);
  p.labels.fill_(kIgnoreIndex);
  const LossAndGrads out = chunked(p.hidden, p.weight, p.labels, 16);
  EXPECT_EQ(out.loss.item<double>(), 0.0);
  EXPECT_EQ(out.grad_hidden.abs().max().item<double>(), 0.0);
  EXPECT_EQ(out.grad_weight.abs().max().item<double>(), 0.0);
}

TEST(SequenceLogprobs, SumsEachSequencesLabelLogProbabilitiesWithTheirGrads) {
  const Problem p = random_problem(7);
  const torch::Tensor coefficients = torch::tensor({0.5f, -2.0f});
  // Reference: log_softmax over full logits, the labels' entries, per sequence.
  torch::Tensor h_ref = p.hidden.clone().requires_grad_(),
                w_ref = p.weight.clone().requires_grad_();
  torch::Tensor valid = p.labels != kIgnoreIndex;
  torch::Tensor logp = torch::log_softmax(torch::linear(h_ref, w_ref), 1)
                           .gather(1, p.labels.clamp_min(0).unsqueeze(1))
                           .squeeze(1)
                           .masked_fill(valid.logical_not(), 0);
  torch::Tensor expected = logp.view({2, 25}).sum(1);
  (expected * coefficients).sum().backward();

  torch::Tensor h = p.hidden.clone().view({2, 25, 16}).requires_grad_(),
                w = p.weight.clone().requires_grad_();
  torch::Tensor actual = sequence_logprobs(h, w, p.labels.view({2, 25}), 4);
  (actual * coefficients).sum().backward();
  EXPECT_TRUE(all_close(actual, expected.detach(), 1e-5, 0));
  EXPECT_TRUE(near_relative_to_max(h.grad().view({50, 16}), h_ref.grad(), 1e-5));
  EXPECT_TRUE(near_relative_to_max(w.grad(), w_ref.grad(), 1e-5));
}

TEST(ShiftLabels, EachPositionPredictsTheNextTokenWhereTheMaskAllows) {
  const torch::Tensor ids = torch::tensor({5, 6, 7, 8, 15, 16, 17, 18}, torch::kInt64).view({2, 4});
  EXPECT_TRUE(
      torch::equal(shift_labels(ids),
                   torch::tensor({6, 7, 8, -100, 16, 17, 18, -100}, torch::kInt64).view({2, 4})));
  // Row 0: a two-token prompt; row 1: response tokens then one of padding.
  const torch::Tensor mask = torch::tensor({0, 0, 1, 1, 1, 1, 1, 0}, torch::kBool).view({2, 4});
  EXPECT_TRUE(torch::equal(
      shift_labels(ids, mask),
      torch::tensor({-100, 7, 8, -100, 16, 17, -100, -100}, torch::kInt64).view({2, 4})));
  EXPECT_TRUE(torch::equal(shift_labels(torch::tensor({9}, torch::kInt64)),
                           torch::tensor({-100}, torch::kInt64)));
}

std::string loss_error(const torch::Tensor& hidden, const torch::Tensor& weight,
                       const torch::Tensor& labels, int64_t chunk_rows = 4) {
  try {
    causal_lm_loss_sum(hidden, weight, labels, chunk_rows);
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChunkedLmLoss, RefusesBadInputNamingTheProblem) {
  const Problem p = random_problem(8);
  torch::Tensor labels = p.labels.clone();
  labels[11] = 300;
  EXPECT_NE(loss_error(p.hidden, p.weight, labels)
                .find("label 300 at row 11 is outside the vocabulary [0, 300)"),
            std::string::npos);
  labels[11] = -5;
  EXPECT_NE(loss_error(p.hidden, p.weight, labels).find("label -5 at row 11"), std::string::npos);
  EXPECT_NE(loss_error(p.hidden, p.weight.to(torch::kBFloat16), p.labels)
                .find("must share a floating dtype"),
            std::string::npos);
  EXPECT_NE(loss_error(p.hidden, p.weight.narrow(1, 0, 8), p.labels).find("[50, 16] and [300, 8]"),
            std::string::npos);
  EXPECT_NE(loss_error(p.hidden, p.weight, p.labels, 0).find("chunk_rows must be ≥ 1"),
            std::string::npos);
  EXPECT_NE(loss_error(p.hidden, p.weight, p.labels.to(torch::kInt32)).find("labels must be int64"),
            std::string::npos);
}

TEST(ChunkedLmLossReference, MatchesPyTorchCrossEntropyAndItsGrads) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("cross_entropy.json");
  const nlohmann::json fixture = fixture_json("cross_entropy.json");
  const FixtureTensors t("cross_entropy.safetensors");
  const torch::Tensor labels = t["labels"];
  for (int64_t chunk_rows : {5, 64, 100}) {
    SCOPED_TRACE("chunk_rows " + std::to_string(chunk_rows));
    const LossAndGrads fp32 = chunked(t["hidden"], t["weight"], labels, chunk_rows);
    EXPECT_NEAR(fp32.loss.item<double>(), fixture["fp32_loss"].get<double>(),
                1e-5 * fixture["fp32_loss"].get<double>());
    EXPECT_TRUE(near_relative_to_max(fp32.grad_hidden, t["fp32/grad_hidden"], 1e-5));
    EXPECT_TRUE(near_relative_to_max(fp32.grad_weight, t["fp32/grad_weight"], 1e-5));
  }
  EXPECT_EQ(causal_lm_loss_sum(t["hidden"], t["weight"], labels, 64).tokens.item<int64_t>(),
            fixture["tokens"].get<int64_t>());
}

TEST(ChunkedLmLossReference, MatchesPyTorchInBf16AsTransformersComputesIt) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("cross_entropy.json");
  SKIP_WITHOUT_FP32_SUMS_IN_CPU_BF16_MATMUL();
  const nlohmann::json fixture = fixture_json("cross_entropy.json");
  const FixtureTensors t("cross_entropy.safetensors");
  for (int64_t chunk_rows : {5, 64, 100}) {
    SCOPED_TRACE("chunk_rows " + std::to_string(chunk_rows));
    const LossAndGrads bf16 = chunked(t["bf16/hidden"].to(torch::kBFloat16),
                                      t["bf16/weight"].to(torch::kBFloat16), t["labels"], chunk_rows);
    EXPECT_NEAR(bf16.loss.item<double>(), fixture["bf16_loss"].get<double>(),
                1e-4 * fixture["bf16_loss"].get<double>());
    EXPECT_TRUE(near_relative_to_max(bf16.grad_hidden, t["bf16/grad_hidden"], 1e-2));
    EXPECT_TRUE(near_relative_to_max(bf16.grad_weight, t["bf16/grad_weight"], 1e-2));
  }
}

TEST(ChunkedLmLossReference, SequenceLogprobsMatchPyTorch) {
  SKIP_WITHOUT_OPTIMIZER_FIXTURE("cross_entropy.json");
  const FixtureTensors t("cross_entropy.safetensors");
  const torch::Tensor hidden = t["hidden"];  // [64, H]: 4 sequences of 16
  torch::Tensor h = hidden.view({4, 16, hidden.size(1)}).requires_grad_(),
                w = t["weight"].requires_grad_();
  torch::Tensor logprobs = sequence_logprobs(h, w, t["labels"].view({4, 16}), 10);
  (logprobs * t["sequence/coefficients"]).sum().backward();
  EXPECT_TRUE(all_close(logprobs, t["sequence/logprobs"], 1e-5, 0));
  EXPECT_TRUE(near_relative_to_max(h.grad().view(hidden.sizes()), t["sequence/grad_hidden"], 1e-5));
  EXPECT_TRUE(near_relative_to_max(w.grad(), t["sequence/grad_weight"], 1e-5));
}

// ---- The summed loss's gradient in the forward pass (Note [Gradient in the forward pass])

// The per-token path (ChunkedTokenNll: recomputes the logits in its backward pass), summed.
LossAndGrads per_token_sum(const torch::Tensor& hidden, const torch::Tensor& weight,
                           const torch::Tensor& labels, int64_t chunk_rows, double scale) {
  torch::Tensor h = hidden.detach().clone().requires_grad_();
  torch::Tensor w = weight.detach().clone().requires_grad_();
  torch::Tensor loss = token_nll(h, w, labels, chunk_rows).sum();
  (loss * scale).backward();
  return {loss.detach(), h.grad(), w.grad()};
}

TEST(FusedLmLoss, EqualsThePerTokenPathAndFullLogitsWithAScaledGradOutput) {
  const Problem p = random_problem(21);
  // loss / count · 3, as the trainer divides by the step's token count: grad_output ≠ 1.
  const double scale = 3.0 / 41;
  const LossAndGrads reference = full_logits_reference(p.hidden, p.weight, p.labels, scale);
  for (int64_t chunk_rows : {1, 16, 50, 64}) {  // 16: three full chunks and one of 2 rows
    SCOPED_TRACE("chunk_rows " + std::to_string(chunk_rows));
    const LossAndGrads per_token = per_token_sum(p.hidden, p.weight, p.labels, chunk_rows, scale);
    const LossAndGrads fused = chunked(p.hidden, p.weight, p.labels, chunk_rows, scale);
    EXPECT_EQ(fused.loss.scalar_type(), torch::kFloat32);
    EXPECT_EQ(fused.loss.dim(), 0);
    for (const LossAndGrads* expected : {&reference, &per_token}) {
      EXPECT_NEAR(fused.loss.item<double>(), expected->loss.item<double>(),
                  1e-5 * expected->loss.item<double>());
      EXPECT_TRUE(near_relative_to_max(fused.grad_hidden, expected->grad_hidden, 1e-5));
      EXPECT_TRUE(near_relative_to_max(fused.grad_weight, expected->grad_weight, 1e-5));
    }
    // Ignored rows get no gradient at all.
    for (int64_t row : {0, 17, 49})
      EXPECT_EQ(fused.grad_hidden[row].abs().max().item<double>(), 0.0);
  }
}

TEST(FusedLmLoss, OnlyTheHeadWantsAGradient) {
  const Problem p = random_problem(22);
  const LossAndGrads expected = full_logits_reference(p.hidden, p.weight, p.labels, 0.5);
  torch::Tensor w = p.weight.clone().requires_grad_();
  LossSum out = causal_lm_loss_sum(p.hidden, w, p.labels, 16);
  (out.sum * 0.5).backward();
  EXPECT_FALSE(p.hidden.grad().defined());
  EXPECT_TRUE(near_relative_to_max(w.grad(), expected.grad_weight, 1e-5));
  EXPECT_NEAR(out.sum.item<double>(), expected.loss.item<double>(),
              1e-5 * expected.loss.item<double>());
}

TEST(FusedLmLoss, OnlyTheHiddenStatesWantAGradient) {
  const Problem p = random_problem(23);
  const LossAndGrads expected = full_logits_reference(p.hidden, p.weight, p.labels, -2.0);
  torch::Tensor h = p.hidden.clone().requires_grad_();
  LossSum out = causal_lm_loss_sum(h, p.weight, p.labels, 16);
  (out.sum * -2.0).backward();
  EXPECT_FALSE(p.weight.grad().defined());
  EXPECT_TRUE(near_relative_to_max(h.grad(), expected.grad_hidden, 1e-5));
}

TEST(FusedLmLoss, WithoutGradModeComputesTheLossAlone) {
  const Problem p = random_problem(24);
  const LossAndGrads expected = full_logits_reference(p.hidden, p.weight, p.labels);
  torch::Tensor h = p.hidden.clone().requires_grad_(), w = p.weight.clone().requires_grad_();
  {
    torch::NoGradGuard no_grad;
    const LossSum out = causal_lm_loss_sum(h, w, p.labels, 16);
    EXPECT_FALSE(out.sum.requires_grad());
    EXPECT_NEAR(out.sum.item<double>(), expected.loss.item<double>(),
                1e-5 * expected.loss.item<double>());
  }
  // Grad mode on, nothing requiring grad: the loss alone too.
  const LossSum out = causal_lm_loss_sum(p.hidden, p.weight, p.labels, 16);
  EXPECT_FALSE(out.sum.requires_grad());
  EXPECT_NEAR(out.sum.item<double>(), expected.loss.item<double>(),
              1e-5 * expected.loss.item<double>());
}

TEST(FusedLmLoss, RefusesASecondBackwardPassNamingTheAlternative) {
  const Problem p = random_problem(25);
  torch::Tensor h = p.hidden.clone().requires_grad_();
  LossSum out = causal_lm_loss_sum(h, p.weight, p.labels, 16);
  out.sum.backward({}, /*retain_graph=*/true);
  const torch::Tensor first = h.grad().clone();
  std::string message = "(no error)";
  try {
    out.sum.backward();
  } catch (const std::exception& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("one backward pass only"), std::string::npos) << message;
  EXPECT_TRUE(torch::equal(h.grad(), first));  // the first pass's gradient is left alone
}

TEST(CrossEntropyRows, CompositeGivesTheNllAndWritesSoftmaxMinusOneHot) {
  const Problem p = random_problem(26);
  const torch::Tensor logits = torch::linear(p.hidden, p.weight);
  torch::Tensor work = logits.clone();
  const torch::Tensor nll = cross_entropy_rows_composite(work, p.labels, /*write_grad=*/true);
  const torch::Tensor valid = p.labels != kIgnoreIndex;
  const torch::Tensor expected_nll = F::cross_entropy(
      logits, p.labels, F::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kNone));
  EXPECT_TRUE(all_close(nll, expected_nll, 1e-6, 1e-6));
  const torch::Tensor expected_grad =
      (torch::softmax(logits, 1) - F::one_hot(p.labels.clamp_min(0), 300).to(torch::kFloat32)) *
      valid.unsqueeze(1).to(torch::kFloat32);
  EXPECT_TRUE(all_close(work, expected_grad, 1e-5, 1e-7));
  // Without write_grad the logits are left as they were.
  torch::Tensor untouched = logits.clone();
  cross_entropy_rows_composite(untouched, p.labels, false);
  EXPECT_TRUE(torch::equal(untouched, logits));
}

// ---- On a CUDA device: the row kernel and the fused loss with it

// The largest gap between neighbouring values of a 16-bit dtype, relative to them: 2⁻⁷
// for bf16's 7 stored mantissa bits, 2⁻¹⁰ for fp16's 10 (among fp16's subnormals, below
// 2⁻¹⁴, the gap is 2⁻²⁴ absolute).
double relative_step(torch::ScalarType dtype) {
  return dtype == torch::kBFloat16 ? 1.0 / 128 : 1.0 / 1024;
}

class CudaCrossEntropy : public ::testing::TestWithParam<torch::ScalarType> {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
  torch::ScalarType dtype() const { return GetParam(); }
};

// Labels on the device: uniform, every 5th ignored, one row's label outside the
// vocabulary when `out_of_range_row` ≥ 0.
torch::Tensor device_labels(int64_t rows, int64_t vocab, int64_t out_of_range_row = -1) {
  torch::Tensor labels = torch::randint(0, vocab, {rows}, torch::kInt64);
  labels.index_put_({torch::arange(0, rows, 5)}, kIgnoreIndex);
  if (out_of_range_row >= 0) labels[out_of_range_row] = vocab;
  return labels.to(torch::kCUDA);
}

TEST_P(CudaCrossEntropy, RowKernelMatchesTheComposite) {
  // 1024: 16-byte vectors; 1001: element by element. Rows `vocab + 8` apart (a view) and
  // contiguous; logits of spread 4, as an LM head's.
  for (const int64_t vocab : {1024, 1001}) {
    for (const bool strided : {false, true}) {
      SCOPED_TRACE("vocab " + std::to_string(vocab) + (strided ? ", strided" : ""));
      torch::manual_seed(31);
      const torch::Tensor buffer = (torch::randn({37, vocab + 8}) * 4).to(torch::kCUDA, dtype());
      const torch::Tensor logits =
          strided ? buffer.narrow(1, 0, vocab) : buffer.narrow(1, 0, vocab).contiguous();
      const torch::Tensor labels = device_labels(37, vocab);
      ASSERT_TRUE(cross_entropy_kernel_applies(logits, labels));
      torch::Tensor kernel_grad = logits.clone(), composite_grad = logits.clone();
      if (strided) kernel_grad = buffer.clone().narrow(1, 0, vocab);
      const torch::Tensor nll = cross_entropy_rows(kernel_grad, labels, true);
      const torch::Tensor expected = cross_entropy_rows_composite(composite_grad, labels, true);
      // The same fp32 math on the same inputs: only exp/log approximations and the order
      // of the row's sum differ, a few fp32 ulps of the ~10-nat values.
      EXPECT_TRUE(all_close(nll, expected, 1e-5, 1e-5));
      // Both round the fp32 gradient once: equal, or one step of the dtype apart where
      // the fp32 values (a few ulps apart, as the nll) straddle a rounding boundary.
      const bool fp32 = dtype() == torch::kFloat32;
      EXPECT_TRUE(all_close(kernel_grad, composite_grad, fp32 ? 1e-5 : relative_step(dtype()),
                            dtype() == torch::kFloat16 ? 6e-8 : 1e-12));
      EXPECT_EQ(kernel_grad.index({torch::arange(0, 37, 5)}).abs().max().item<double>(), 0.0);
      // Loss only: the logits stay.
      torch::Tensor kept = logits.clone();
      EXPECT_TRUE(all_close(cross_entropy_rows(kept, labels, false), expected, 1e-5, 1e-5));
      EXPECT_TRUE(torch::equal(kept, logits));
    }
  }
}

TEST_P(CudaCrossEntropy, RowKernelGivesNanForALabelOutsideTheVocabulary) {
  torch::manual_seed(32);
  torch::Tensor logits = torch::randn({8, 1024}).to(torch::kCUDA, dtype());
  const torch::Tensor nll = cross_entropy_rows(logits, device_labels(8, 1024, 3), true).cpu();
  EXPECT_TRUE(std::isnan(nll[3].item<double>()));
  EXPECT_FALSE(torch::isnan(nll.narrow(0, 4, 4)).any().item<bool>());
}

TEST_P(CudaCrossEntropy, FusedLossMatchesFullLogitsCrossEntropy) {
  torch::manual_seed(33);
  const int64_t rows = 300, width = 64, vocab = 2048;
  const torch::Tensor hidden = torch::randn({rows, width}).to(torch::kCUDA, dtype());
  const torch::Tensor weight = (torch::randn({vocab, width}) * 0.3).to(torch::kCUDA, dtype());
  const torch::Tensor labels = device_labels(rows, vocab);
  const double scale = 3.0 / 240;
  const LossAndGrads expected = full_logits_reference(hidden, weight, labels, scale);
  // Chunks of 64 rows: four full ones and one of 44.
  const LossAndGrads fused = chunked(hidden, weight, labels, 64, scale);
  EXPECT_EQ(fused.grad_hidden.scalar_type(), dtype());
  EXPECT_EQ(fused.grad_weight.scalar_type(), dtype());
  // fp32: ≤ 1e-5 as on the CPU (matmuls in another order). bf16/fp16: the loss from the
  // same rounded logits in fp32 (1e-4, as the CPU bf16 tests); gradients within 1e-2 of
  // the largest: dlogits one rounding apart at most, and grad_weight rounded once per
  // chunk (5 here) where the reference rounds once.
  const bool fp32 = dtype() == torch::kFloat32;
  EXPECT_NEAR(fused.loss.item<double>(), expected.loss.item<double>(),
              (fp32 ? 1e-5 : 1e-4) * expected.loss.item<double>());
  EXPECT_TRUE(near_relative_to_max(fused.grad_hidden, expected.grad_hidden, fp32 ? 1e-5 : 1e-2));
  EXPECT_TRUE(near_relative_to_max(fused.grad_weight, expected.grad_weight, fp32 ? 1e-5 : 1e-2));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaCrossEntropy,
                         ::testing::Values(torch::kFloat32, torch::kBFloat16, torch::kFloat16),
                         [](const auto& test) { return std::string(c10::toString(test.param)); });

}  // namespace
}  // namespace lmf::torch_backend::testing
