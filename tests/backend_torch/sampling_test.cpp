// Token choice: greedy, repetition penalty, temperature, top-k, top-p, min-p and seeds,
// checked on logits small enough to work out by hand.
#include "sampling.h"

#include <lmf/sdk/error.h>

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace lmf::torch_backend {
namespace {

SamplingParams sampling(nlohmann::json fields) {
  return parse_sampling(fields, SamplingParams{});
}

std::vector<float> logits_of_probs(std::vector<double> probs) {
  std::vector<float> logits;
  for (double p : probs) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// How often each token is drawn in `draws` draws from fresh copies of `logits`.
std::map<int64_t, double> frequencies(TokenSampler& sampler, const std::vector<float>& logits, int draws) {
  std::map<int64_t, double> counts;
  for (int i = 0; i < draws; ++i) {
    std::vector<float> scratch = logits;
    counts[sampler.next(scratch, {})] += 1.0 / draws;
  }
  return counts;
}

TEST(Sampling, GreedyTakesTheFirstLargestLogit) {
  TokenSampler sampler(sampling({{"do_sample", false}}), 0);
  std::vector<float> logits{0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(sampler.next(logits, {}), 1);
}

TEST(Sampling, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens) {
  // Token 1 (3.0) seen with penalty 2 → 1.5, below token 0 (2.0); token 2 (-1.0) seen → -2.0.
  TokenSampler sampler(sampling({{"do_sample", false}, {"repetition_penalty", 2.0}}), 0);
  std::vector<float> logits{2.0f, 3.0f, -1.0f};
  const std::vector<int64_t> seen{1, 2, 1};
  EXPECT_EQ(sampler.next(logits, seen), 0);
  EXPECT_FLOAT_EQ(logits[1], 1.5f);
  EXPECT_FLOAT_EQ(logits[2], -2.0f);  // penalised once although seen once
}

TEST(Sampling, DrawsFollowTheSoftmaxOfTheLogits) {
  TokenSampler sampler(sampling({{"temperature", 1.0}, {"top_k", 0}}), 42);
  auto f = frequencies(sampler, logits_of_probs({0.5, 0.3, 0.2}), 20000);
  EXPECT_NEAR(f[0], 0.5, 0.02);
  EXPECT_NEAR(f[1], 0.3, 0.02);
  EXPECT_NEAR(f[2], 0.2, 0.02);
}

TEST(Sampling, TemperatureSharpensTheDistribution) {
  // T = 0.5 squares the probabilities before renormalising: 0.25/0.09/0.04 → 0.658/0.237/0.105.
  TokenSampler sampler(sampling({{"temperature", 0.5}, {"top_k", 0}}), 7);
  auto f = frequencies(sampler, logits_of_probs({0.5, 0.3, 0.2}), 20000);
  EXPECT_NEAR(f[0], 0.25 / 0.38, 0.02);
  EXPECT_NEAR(f[2], 0.04 / 0.38, 0.02);
}

TEST(Sampling, TopKKeepsOnlyTheKMostLikely) {
  TokenSampler sampler(sampling({{"temperature", 1.0}, {"top_k", 2}}), 3);
  auto f = frequencies(sampler, logits_of_probs({0.1, 0.5, 0.15, 0.25}), 20000);
  EXPECT_EQ(f.count(0), 0u);
  EXPECT_EQ(f.count(2), 0u);
  EXPECT_NEAR(f[1], 0.5 / 0.75, 0.02);
}

TEST(Sampling, TopPKeepsTheSmallestSetReachingP) {
  // Sorted: 0.5, 0.3, 0.15, 0.05. top_p 0.7: 0.5 < 0.7, 0.5 + 0.3 ≥ 0.7 → {0.5, 0.3}.
  TokenSampler sampler(sampling({{"temperature", 1.0}, {"top_k", 0}, {"top_p", 0.7}}), 5);
  auto f = frequencies(sampler, logits_of_probs({0.15, 0.5, 0.05, 0.3}), 20000);
  EXPECT_EQ(f.count(0), 0u);
  EXPECT_EQ(f.count(2), 0u);
  EXPECT_NEAR(f[1], 0.5 / 0.8, 0.02);
}

TEST(Sampling, MinPDropsTokensBelowAFractionOfTheMostLikely) {
  // min_p 0.5 of the top 0.4 → keep p ≥ 0.2: {0.4, 0.35}; 0.15 and 0.1 go.
  TokenSampler sampler(sampling({{"temperature", 1.0}, {"top_k", 0}, {"min_p", 0.5}}), 9);
  auto f = frequencies(sampler, logits_of_probs({0.15, 0.4, 0.1, 0.35}), 20000);
  EXPECT_EQ(f.count(0), 0u);
  EXPECT_EQ(f.count(2), 0u);
  EXPECT_NEAR(f[1], 0.4 / 0.75, 0.02);
}

TEST(Sampling, TheSameSeedDrawsTheSameTokensAndAnotherSeedOthers) {
  const auto logits = logits_of_probs({0.25, 0.25, 0.25, 0.25});
  auto draw = [&](uint64_t seed) {
    TokenSampler sampler(sampling({{"temperature", 1.0}}), seed);
    std::vector<int64_t> ids;
    for (int i = 0; i < 64; ++i) {
      std::vector<float> scratch = logits;
      ids.push_back(sampler.next(scratch, {}));
    }
    return ids;
  };
  EXPECT_EQ(draw(1234), draw(1234));
  EXPECT_NE(draw(1234), draw(1235));
}

TEST(Sampling, ATemperatureWithoutDoSampleMeansSamplingAndZeroMeansGreedy) {
  EXPECT_TRUE(sampling({{"temperature", 0.7}}).do_sample);
  EXPECT_FALSE(sampling({{"temperature", 0.0}}).do_sample);
  EXPECT_FALSE(sampling(nlohmann::json::object()).do_sample);
}

TEST(Sampling, GenerationConfigGivesTheDefaults) {
  SamplingParams defaults = sampling_defaults({{"do_sample", true}, {"temperature", 0.6}, {"top_p", 0.95},
                                               {"bos_token_id", 1}});
  EXPECT_TRUE(defaults.do_sample);
  EXPECT_DOUBLE_EQ(defaults.temperature, 0.6);
  EXPECT_DOUBLE_EQ(defaults.top_p, 0.95);
  EXPECT_EQ(parse_sampling({{"top_p", 0.5}}, defaults).temperature, 0.6);
}

TEST(Sampling, InvalidValuesAreRefusedNamingTheField) {
  auto message_of = [](nlohmann::json fields) {
    try {
      sampling(fields);
    } catch (const sdk::Error& e) {
      EXPECT_EQ(e.code(), LMF_ERR_INVALID_ARGUMENT);
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(message_of({{"temperature", -1}}).find("sampling.temperature"), std::string::npos);
  EXPECT_NE(message_of({{"top_p", 0}}).find("sampling.top_p"), std::string::npos);
  EXPECT_NE(message_of({{"top_p", 1.5}}).find("sampling.top_p"), std::string::npos);
  EXPECT_NE(message_of({{"min_p", 1}}).find("sampling.min_p"), std::string::npos);
  EXPECT_NE(message_of({{"top_k", -3}}).find("sampling.top_k"), std::string::npos);
  EXPECT_NE(message_of({{"max_new_tokens", 0}}).find("sampling.max_new_tokens"), std::string::npos);
  EXPECT_NE(message_of({{"repetition_penalty", 0}}).find("sampling.repetition_penalty"), std::string::npos);
  EXPECT_NE(message_of({{"temprature", 0.5}}).find("sampling.temprature is not a sampling option"),
            std::string::npos);
  EXPECT_NE(message_of({{"stop", {""}}}).find("sampling.stop"), std::string::npos);
}

}  // namespace
}  // namespace lmf::torch_backend
