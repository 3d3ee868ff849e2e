// On a CUDA device (skipped elsewhere): the same parity in fp32 with the GPU settings —
// fused projections, fused attention, and decode steps replayed as CUDA graphs.
#include "backend_test_support.h"
#include "generation.h"

namespace lmf::torch_backend::testing {
namespace {

std::unique_ptr<LoadedModel> load_on_cuda(const std::string& model, bool graphs, const std::string& dtype,
                                          bool decode_kernels = false) {
  LoadOptions options;
  options.decode_kernels = decode_kernels;
  options.device = "cuda";
  options.dtype = dtype;
  options.cuda_graphs = graphs;
  return LoadedModel::load(fixture(model), options);
}

class Cuda : public BackendTest, public ::testing::WithParamInterface<const char*> {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_P(Cuda, Fp32LogitsMatchTransformers) {
  auto model = load_on_cuda(GetParam(), true, "float32");
  torch::Tensor ids = expected_tensor(GetParam(), "input_ids");
  torch::NoGradGuard no_grad;
  torch::Tensor positions = torch::arange(ids.size(1)).expand({ids.size(0), ids.size(1)});
  torch::Tensor logits = model->decoder->logits(model->decoder->hidden_states(
      ids.to(torch::kCUDA), ForwardContext{positions.to(torch::kCUDA), {}, nullptr, ids.size(1)}));
  EXPECT_LE(relative_error(logits.cpu(), expected_tensor(GetParam(), "logits")), 1e-4);
}

// Greedy requests choose on the device (Note [Greedy choice on the device]), with and
// without graphs; `top_k_sampling` samples from the top 1 instead, which takes the
// logits to the host and must choose the same tokens.
void expect_greedy_tokens_match(LoadedModel& model, const char* family, bool top_k_sampling = false) {
  const nlohmann::json cases = expected_json(family)["greedy"];
  std::vector<GenerationRequest> requests;
  for (const auto& c : cases) {
    GenerationRequest request;
    request.prompt = c["prompt"].get<std::vector<int64_t>>();
    request.sampling.max_new_tokens = c["max_new_tokens"];
    if (top_k_sampling) {
      request.sampling.do_sample = true;
      request.sampling.top_k = 1;
      request.sampling.seed = 7;
    }
    requests.push_back(request);
  }
  auto out = generate(*model.decoder, requests, model.config.eos_token_ids, {});
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(out[i].ids, cases[i]["output"].get<std::vector<int64_t>>()) << "prompt " << i;
}

TEST_P(Cuda, GreedyTokensMatchTransformersWithCudaGraphs) {
  expect_greedy_tokens_match(*load_on_cuda(GetParam(), true, "float32"), GetParam());
}

TEST_P(Cuda, GreedyTokensMatchTransformersWithoutCudaGraphs) {
  expect_greedy_tokens_match(*load_on_cuda(GetParam(), false, "float32"), GetParam());
}

// Note [Decode kernels]: a generation of one prompt goes through them, with graphs and
// without; each fixture prompt alone gives transformers' tokens.
TEST_P(Cuda, GreedyTokensMatchTransformersThroughTheDecodeKernels) {
  const nlohmann::json cases = expected_json(GetParam())["greedy"];
  for (bool graphs : {true, false}) {
    auto model = load_on_cuda(GetParam(), graphs, "float32", /*decode_kernels=*/true);
    for (size_t i = 0; i < cases.size(); ++i) {
      std::vector<GenerationRequest> requests(1);
      requests[0].prompt = cases[i]["prompt"].get<std::vector<int64_t>>();
      requests[0].sampling.max_new_tokens = cases[i]["max_new_tokens"];
      auto out = generate(*model->decoder, requests, model->config.eos_token_ids, {});
      EXPECT_EQ(out[0].ids, cases[i]["output"].get<std::vector<int64_t>>()) << "prompt " << i << ", graphs " << graphs;
    }
    EXPECT_GT(model->decoder->decode_kernel_passes(), 0) << "graphs " << graphs << ": the decode kernels were not used";
  }
}

TEST_P(Cuda, TopOneSamplingOnTheHostMatchesTransformersGreedy) {
  expect_greedy_tokens_match(*load_on_cuda(GetParam(), true, "float32"), GetParam(), /*top_k_sampling=*/true);
}

// Note [Reused decode graphs]: the second generation of each shape replays the graph the
// first captured, into the same cache.
TEST_P(Cuda, ReusedGraphsGiveTheSameTokensAgain) {
  auto model = load_on_cuda(GetParam(), true, "float32");
  expect_greedy_tokens_match(*model, GetParam());
  expect_greedy_tokens_match(*model, GetParam());
  expect_greedy_tokens_match(*model, GetParam(), /*top_k_sampling=*/true);
}

// An adapter adding x·R: large enough to change the greedy tokens.
class AddedProjection final : public LinearAdapter {
 public:
  explicit AddedProjection(torch::Tensor r) : r_(std::move(r)) {}
  torch::Tensor operator()(const torch::Tensor& x) const override { return torch::matmul(x, r_); }

 private:
  torch::Tensor r_;
};

std::vector<int64_t> greedy_tokens(LoadedModel& model, const std::vector<int64_t>& prompt) {
  std::vector<GenerationRequest> requests(1);
  requests[0].prompt = prompt;
  requests[0].sampling.max_new_tokens = 12;
  requests[0].sampling.ignore_eos = true;
  return generate(*model.decoder, requests, {}, {})[0].ids;
}

TEST_P(Cuda, AGraphCapturedBeforeAnAdapterWasAttachedIsCapturedAgain) {
  auto model = load_on_cuda(GetParam(), true, "float32");
  const std::vector<int64_t> prompt = expected_json(GetParam())["greedy"][0]["prompt"].get<std::vector<int64_t>>();
  const std::vector<int64_t> before = greedy_tokens(*model, prompt);  // captures a graph without adapters
  torch::manual_seed(3);
  model->decoder->for_each_linear([](const std::string& name, Linear& linear) {
    if (name.find("q_proj") == std::string::npos && name.find("down_proj") == std::string::npos) return;
    const int64_t in = linear.weight.size(1), out = linear.weight.size(0);
    linear.adapter = std::make_shared<AddedProjection>(torch::randn({in, out}, linear.weight.options()) * 0.5);
  });
  const std::vector<int64_t> replayed = greedy_tokens(*model, prompt);
  model->decoder->set_cuda_graphs(false);
  const std::vector<int64_t> eager = greedy_tokens(*model, prompt);
  EXPECT_NE(eager, before) << "the adapters should change the tokens";
  EXPECT_EQ(replayed, eager);
}

// Note [Steps in flight]: a stop on step k's token is seen with step k+1 already running;
// that step's output is dropped, and the next generation does not see it.
TEST_P(Cuda, AStepRunAheadOfAStopIsDroppedAndTheNextGenerationIsExact) {
  auto model = load_on_cuda(GetParam(), true, "float32");
  const std::vector<int64_t> prompt = expected_json(GetParam())["greedy"][0]["prompt"].get<std::vector<int64_t>>();
  const std::vector<int64_t> full = greedy_tokens(*model, prompt);
  ASSERT_EQ(full.size(), 12u);
  // The first token from the third on that did not come before: the stop is seen on a
  // decode step's token, with the next step already launched.
  size_t stop = 2;
  while (stop + 1 < full.size() && std::find(full.begin(), full.begin() + stop, full[stop]) != full.begin() + stop) ++stop;
  ASSERT_LT(stop + 1, full.size());
  std::vector<GenerationRequest> requests(1);
  requests[0].prompt = prompt;
  requests[0].sampling.max_new_tokens = 12;
  requests[0].sampling.ignore_eos = true;
  requests[0].sampling.stop_ids = {full[stop]};
  const GenerationOutput stopped = generate(*model->decoder, requests, {}, {})[0];
  const std::vector<int64_t> expected(full.begin(), full.begin() + stop + 1);
  EXPECT_EQ(stopped.ids, expected);
  EXPECT_EQ(stopped.finish_reason, LMF_FINISH_STOP);
  EXPECT_EQ(greedy_tokens(*model, prompt), full);
  model->decoder->set_cuda_graphs(false);
  EXPECT_EQ(greedy_tokens(*model, prompt), full) << "the steps in flight choose as eager steps do";
}

INSTANTIATE_TEST_SUITE_P(Families, Cuda, ::testing::ValuesIn(kFamilies));

}  // namespace
}  // namespace lmf::torch_backend::testing
