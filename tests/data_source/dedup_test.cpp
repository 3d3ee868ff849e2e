// Exact and near-duplicate removal: the key normalization, MinHash estimates against the
// exact Jaccard similarity, and LSH finding a near duplicate but not a distinct text.
#include "stages/exact_dedup.h"
#include "stages/minhash.h"
#include "stages/near_dedup.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

namespace lmf::data {
namespace {

// Runs records through a stateful stage as the pipeline does; returns the verdicts.
std::vector<Verdict> run(Stage& stage, const std::vector<std::string>& texts, Tally& tally) {
  std::vector<Verdict> verdicts;
  for (const std::string& text : texts) {
    Record record;
    record.parts = {text};
    stage.process(record, tally);
    verdicts.push_back(stage.decide(record, tally));
  }
  return verdicts;
}

TEST(ExactDedup, KeyIgnoresCaseAndWhiteSpace) {
  EXPECT_EQ(dedup_key_text("Hello  World\n", true, true), "helloworld");
  EXPECT_EQ(dedup_key_text("Straße", true, false), "strasse");
  EXPECT_EQ(dedup_key_text("深圳 华为", true, true), "深圳华为");
  EXPECT_EQ(dedup_key_text("A b", false, false), "A b");
}

TEST(ExactDedup, KeepsTheFirstOfEachKeyAndCountsTheRest) {
  ExactDedup stage(true, true);
  Tally tally = stage.make_tally();
  const auto verdicts =
      run(stage, {"华为 成立", "Hello world", "华为成立", "hello WORLD", "other"}, tally);
  EXPECT_EQ(verdicts, (std::vector<Verdict>{Verdict::keep, Verdict::keep, Verdict::drop,
                                            Verdict::drop, Verdict::keep}));
  EXPECT_EQ(tally.dropped, 2u);
  EXPECT_EQ(tally.reasons[0], 2u);
  stage.reset();
  EXPECT_EQ(run(stage, {"hello world"}, tally)[0], Verdict::keep);
}

TEST(KeySet, HoldsManyKeysIncludingZero) {
  KeySet set;
  for (uint64_t i = 0; i < 100000; ++i) ASSERT_TRUE(set.insert(i * 0x9E3779B97F4A7C15ull));
  for (uint64_t i = 0; i < 100000; ++i) ASSERT_FALSE(set.insert(i * 0x9E3779B97F4A7C15ull));
  EXPECT_EQ(set.size(), 100000u);
}

std::string words(int from, int to, const std::string& prefix = "w") {
  std::string text;
  for (int i = from; i < to; ++i) text += (text.empty() ? "" : " ") + prefix + std::to_string(i);
  return text;
}

// The exact Jaccard similarity of the sets of space-separated words, computed here.
double exact_jaccard(const std::string& a, const std::string& b) {
  auto split = [](const std::string& text) {
    std::set<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find(' ', start);
      if (end == std::string::npos) end = text.size();
      out.insert(text.substr(start, end - start));
      start = end + 1;
    }
    return out;
  };
  const std::set<std::string> x = split(a), y = split(b);
  std::vector<std::string> both;
  std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(both));
  return static_cast<double>(both.size()) / static_cast<double>(x.size() + y.size() - both.size());
}

TEST(MinHash, EstimatesTheJaccardSimilarityOfConstructedPairs) {
  MinHashOptions options;
  options.unit = ShingleUnit::words;
  options.shingle_size = 1;  // shingles are the words: the sets are known exactly
  options.num_perm = 256;
  const MinHasher hasher(options);
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {words(0, 100), words(50, 150)},                          // 50 / 150
      {words(0, 100), words(0, 90) + " " + words(0, 10, "x")},  // 90 / 110
      {words(0, 100), words(0, 100)},                           // 1
      {words(0, 100), words(100, 200)},                         // 0
      {words(0, 40), words(0, 200)},                            // 40 / 200
  };
  for (const auto& [a, b] : pairs) {
    const double exact = exact_jaccard(a, b);
    const double estimate = estimate_jaccard(hasher.signature(a), hasher.signature(b));
    // Standard error sqrt(J(1-J)/256) <= 0.031; 0.1 is more than three of them.
    EXPECT_NEAR(estimate, exact, 0.1) << "exact " << exact;
  }
  EXPECT_EQ(hasher.signature("").size(), 0u);
  // Deterministic: the same seed gives the same signature.
  EXPECT_EQ(MinHasher(options).signature(words(0, 10)), hasher.signature(words(0, 10)));
}

TEST(MinHash, CjkTextGetsCharacterShinglesInAutoMode) {
  MinHashOptions options;  // auto, 5-token shingles
  const MinHasher hasher(options);
  EXPECT_EQ(hasher.shingles("华为技术有限公司").size(), 4u);  // 8 characters: 4 windows of 5
  EXPECT_EQ(hasher.shingles("one two three four five six").size(), 2u);
  EXPECT_EQ(hasher.shingles("短").size(), 1u);  // fewer tokens than a shingle: one shingle
}

TEST(Lsh, OptimalShapeFollowsTheThreshold) {
  const LshShape shape = optimal_lsh_shape(0.8, 128);
  EXPECT_LE(shape.bands * shape.rows, 128u);
  // The S-curve must separate: near-duplicates above the threshold are very likely
  // candidates, texts well below it very unlikely ones.
  EXPECT_GT(lsh_catch_probability(0.95, shape), 0.99);
  EXPECT_LT(lsh_catch_probability(0.4, shape), 0.01);
  EXPECT_GT(lsh_catch_probability(0.8, shape), 0.8);  // recall-weighted
  const LshShape loose = optimal_lsh_shape(0.5, 128);
  EXPECT_GT(lsh_catch_probability(0.6, loose), lsh_catch_probability(0.6, shape));
}

std::string paragraph(int seed, int count) {
  std::string text;
  for (int i = 0; i < count; ++i)
    text += (text.empty() ? "" : " ") + std::string("t") +
            std::to_string((i * 7919 + seed * 104729) % 100003);
  return text;
}

TEST(NearDedup, FindsANearDuplicateButNotADistinctText) {
  NearDedupOptions options;  // threshold 0.8, 128 permutations, 5-word shingles
  NearDedup stage(options);
  Tally tally = stage.make_tally();
  const std::string original = paragraph(1, 200);
  std::string near = original;
  near.replace(near.find("t"), 1, "T-changed ");  // one word differs: J of 5-shingles ~ 0.95
  near += " trailing words";
  const std::string distinct = paragraph(2, 200);
  const auto verdicts = run(stage, {original, distinct, near}, tally);
  EXPECT_EQ(verdicts, (std::vector<Verdict>{Verdict::keep, Verdict::keep, Verdict::drop}));
  EXPECT_EQ(tally.reasons[0], 1u);
  // Chinese near duplicates: a few characters changed in a long sentence.
  NearDedup chinese(options);
  Tally chinese_tally = chinese.make_tally();
  const std::string base =
      "华为技术有限公司成立于一九八七年，总部位于广东省深圳市龙岗区，是全球领先的信息与通信技术解决"
      "方案供应商，"
      "专注于通信网络、信息技术、智能终端和云服务等领域，为运营商、企业和消费者提供有竞争力的产品和"
      "服务。";
  std::string edited = base;
  edited.replace(edited.find("龙岗区"), std::string("龙岗区").size(), "龙华区");  // one character
  EXPECT_EQ(run(chinese,
                {base, edited,
                 "腾讯控股有限公司于一九九八年在深圳成立，主要产品包括微信和QQ等社交平台。"},
                chinese_tally),
            (std::vector<Verdict>{Verdict::keep, Verdict::drop, Verdict::keep}));
}

TEST(NearDedup, ParamsReportTheChosenShape) {
  NearDedup stage(NearDedupOptions{});
  const nlohmann::json params = stage.params();
  EXPECT_EQ(params["bands"], stage.shape().bands);
  EXPECT_EQ(params["rows"], stage.shape().rows);
  EXPECT_EQ(params["num_perm"], 128);
  EXPECT_GT(params["catch_probability_at_threshold"].get<double>(), 0.5);
}

}  // namespace
}  // namespace lmf::data
