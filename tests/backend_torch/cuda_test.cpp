// On a CUDA device (skipped elsewhere): the same parity in fp32 with the GPU settings —
// fused projections, fused attention, and decode steps replayed as CUDA graphs.
#include "backend_test_support.h"
#include "generation.h"

namespace lmf::torch_backend::testing {
namespace {

std::unique_ptr<LoadedModel> load_on_cuda(const std::string& model, bool graphs, const std::string& dtype) {
  LoadOptions options;
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

TEST_P(Cuda, GreedyTokensMatchTransformersWithCudaGraphs) {
  auto model = load_on_cuda(GetParam(), true, "float32");
  const nlohmann::json cases = expected_json(GetParam())["greedy"];
  std::vector<GenerationRequest> requests;
  for (const auto& c : cases) {
    GenerationRequest request;
    request.prompt = c["prompt"].get<std::vector<int64_t>>();
    request.sampling.max_new_tokens = c["max_new_tokens"];
    requests.push_back(request);
  }
  auto out = generate(*model->decoder, requests, model->config.eos_token_ids, {});
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(out[i].ids, cases[i]["output"].get<std::vector<int64_t>>()) << "prompt " << i;
}

INSTANTIATE_TEST_SUITE_P(Families, Cuda, ::testing::ValuesIn(kFamilies));

}  // namespace
}  // namespace lmf::torch_backend::testing
