// The backend computes what transformers computes: logits (fp32, relative error ≤ 1e-4),
// greedy continuations token for token, sliding-window perplexity and continuation
// scores, on tiny random-weight Llama-3, Llama-2 (sharded) and Qwen2 checkpoints.
#include "backend_test_support.h"
#include "evaluation.h"
#include "generation.h"

namespace lmf::torch_backend::testing {
namespace {

class Parity : public BackendTest, public ::testing::WithParamInterface<const char*> {};

torch::Tensor logits_of(LoadedModel& model, const torch::Tensor& ids, const torch::Tensor& key_valid) {
  torch::NoGradGuard no_grad;
  const int64_t steps = ids.size(1);
  torch::Tensor positions = torch::arange(steps, torch::kInt64).expand({ids.size(0), steps});
  return model.decoder->logits(
      model.decoder->hidden_states(ids, ForwardContext{positions, key_valid, nullptr, steps}));
}

TEST_P(Parity, LogitsMatchTransformers) {
  auto model = load_fixture(GetParam());
  torch::Tensor ids = expected_tensor(GetParam(), "input_ids");
  torch::Tensor expected = expected_tensor(GetParam(), "logits");
  torch::Tensor actual = logits_of(*model, ids, {});
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_LE(relative_error(actual, expected), 1e-4);
}

TEST_P(Parity, LeftPaddedLogitsMatchTransformersOnRealTokens) {
  auto model = load_fixture(GetParam());
  torch::Tensor ids = expected_tensor(GetParam(), "padded_input_ids");
  torch::Tensor mask = expected_tensor(GetParam(), "padded_attention_mask").to(torch::kBool);
  torch::Tensor expected = expected_tensor(GetParam(), "padded_logits");
  torch::Tensor actual = logits_of(*model, ids, mask);
  // Row 0 starts with 5 padding positions, whose outputs mean nothing.
  EXPECT_LE(relative_error(actual[0].narrow(0, 5, 5), expected[0].narrow(0, 5, 5)), 1e-4);
  EXPECT_LE(relative_error(actual[1], expected[1]), 1e-4);
}

std::vector<GenerationRequest> greedy_requests(const nlohmann::json& cases) {
  std::vector<GenerationRequest> requests;
  for (const auto& c : cases) {
    GenerationRequest request;
    request.prompt = c["prompt"].get<std::vector<int64_t>>();
    request.sampling.max_new_tokens = c["max_new_tokens"];
    request.sampling.do_sample = false;
    requests.push_back(request);
  }
  return requests;
}

TEST_P(Parity, GreedyGenerationMatchesTransformersOnePromptAtATime) {
  auto model = load_fixture(GetParam());
  const nlohmann::json cases = expected_json(GetParam())["greedy"];
  for (const auto& c : cases) {
    std::vector<GenerationRequest> one = greedy_requests(nlohmann::json::array({c}));
    std::vector<GenerationOutput> out = generate(*model->decoder, one, model->config.eos_token_ids, {});
    EXPECT_EQ(out[0].ids, c["output"].get<std::vector<int64_t>>()) << "prompt " << c["prompt"].dump();
    const bool ended_by_eos = !out[0].ids.empty() && out[0].ids.back() == 2 &&
                              out[0].ids.size() < static_cast<size_t>(c["max_new_tokens"]);
    EXPECT_EQ(out[0].finish_reason, ended_by_eos ? LMF_FINISH_STOP : LMF_FINISH_LENGTH);
  }
}

TEST_P(Parity, GreedyGenerationOfALeftPaddedBatchMatchesTransformers) {
  auto model = load_fixture(GetParam());
  const nlohmann::json cases = expected_json(GetParam())["greedy"];
  std::vector<GenerationRequest> batch = greedy_requests(cases);
  std::vector<GenerationOutput> out = generate(*model->decoder, batch, model->config.eos_token_ids, {});
  ASSERT_EQ(out.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(out[i].ids, cases[i]["output"].get<std::vector<int64_t>>()) << "prompt " << i;
}

TEST_P(Parity, SlidingWindowPerplexityMatchesTransformersGuide) {
  auto model = load_fixture(GetParam());
  const nlohmann::json expected = expected_json(GetParam())["perplexity"];
  const auto ids = expected["ids"].get<std::vector<int64_t>>();
  NllSum sum = sliding_window_nll(*model->decoder, ids, expected["max_length"], expected["stride"]);
  EXPECT_EQ(sum.tokens, expected["scored_tokens"].get<int64_t>());
  EXPECT_NEAR(sum.nll, expected["nll_sum"].get<double>(), 1e-4 * expected["nll_sum"].get<double>());
}

TEST_P(Parity, ContinuationLogProbabilitiesMatchTransformers) {
  auto model = load_fixture(GetParam());
  const nlohmann::json expected = expected_json(GetParam())["scores"];
  const auto context = expected["context"].get<std::vector<int64_t>>();
  for (size_t i = 0; i < expected["candidates"].size(); ++i) {
    const auto candidate = expected["candidates"][i].get<std::vector<int64_t>>();
    const double want = expected["logprobs"][i];
    EXPECT_NEAR(continuation_logprob(*model->decoder, context, candidate), want, 1e-4 * std::abs(want))
        << "candidate " << i;
  }
}

// Requests generate() cannot serve are refused before anything runs, naming the prompt.
TEST_F(BackendTest, GenerateRefusesRequestsItCannotServe) {
  auto model = load_fixture("llama3_tiny");
  auto refusal = [&](GenerationRequest request) {
    std::vector<GenerationRequest> requests = {request};
    try {
      generate(*model->decoder, requests, {}, {});
    } catch (const sdk::Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  GenerationRequest good;
  good.prompt = {5, 6, 7};
  good.sampling.max_new_tokens = 2;
  std::vector<GenerationRequest> served = {good};
  EXPECT_EQ(generate(*model->decoder, served, {}, {})[0].ids.size(), 2u);
  GenerationRequest none = good;
  none.sampling.max_new_tokens = 0;
  EXPECT_NE(refusal(none).find("prompt 0: max_new_tokens must be at least 1"), std::string::npos) << refusal(none);
  GenerationRequest empty = good;
  empty.prompt.clear();
  EXPECT_NE(refusal(empty).find("is empty"), std::string::npos) << refusal(empty);
  GenerationRequest outside = good;
  outside.prompt = {5, model->config.vocab_size};
  EXPECT_NE(refusal(outside).find("outside the vocabulary"), std::string::npos) << refusal(outside);
}

INSTANTIATE_TEST_SUITE_P(Families, Parity, ::testing::ValuesIn(kFamilies));

}  // namespace
}  // namespace lmf::torch_backend::testing
