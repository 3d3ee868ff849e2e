// MinHash signatures of shingle sets and the LSH banding that finds candidates
// (Note [MinHash and LSH]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace lmf::data {

// Note [MinHash and LSH]
// Shingles: the record's tokens (ASCII letters lower-cased) in windows of shingle_size
// consecutive tokens; a text with fewer tokens is one shingle. Tokens are, by unit:
//   auto   words as in Note [CJK-aware words]: a CJK character, or a run of other letters
//          and digits; so Chinese gets character shingles and English word shingles;
//   char   every code point that is not white space;
//   word   runs of anything but white space.
// Each shingle is hashed to 64 bits (hash64 of its tokens' hashes). Permutation i maps a
// shingle hash h to (a_i·h + b_i) mod 2^64 with a_i odd and b_i drawn from SplitMix64
// seeded by `seed`; the signature keeps, per permutation, the top 32 bits of the minimum.
// Two texts agree on one permutation with probability J, the Jaccard similarity of their
// shingle sets, so the fraction of agreeing permutations estimates J (standard error
// sqrt(J(1-J)/num_perm): ±0.035 at J = 0.8 with 128 permutations).
// LSH: the first bands·rows values are cut into `bands` bands of `rows`; two texts share a
// band with probability 1-(1-J^rows)^bands, an S-curve that rises around
// (1/bands)^(1/rows). Candidates that share a band are then verified: dropped only when
// the estimated J >= threshold. So a false candidate costs a comparison, a missed one a
// duplicate kept, and by default bands and rows are chosen as datasketch does but
// weighted for recall: among bands·rows <= num_perm, the pair minimizing
// 0.1·(area of candidates below the threshold) + 0.9·(area of misses above it). For
// threshold 0.8 and 128 permutations that is 14 bands of 9 rows: a pair at J = 0.8
// becomes a candidate with probability 0.87, at 0.85 with 0.975, at 0.9 with 0.999; at
// 0.6 with 0.13 (then refused by the verification), at 0.4 with 0.004.
enum class ShingleUnit { auto_words, chars, words };

struct MinHashOptions {
  ShingleUnit unit = ShingleUnit::auto_words;
  std::size_t shingle_size = 5;
  std::size_t num_perm = 128;
  uint64_t seed = 1;
};

class MinHasher {
 public:
  explicit MinHasher(const MinHashOptions& options);
  // The distinct 64-bit hashes of the shingles of valid UTF-8 `text`, sorted.
  std::vector<uint64_t> shingles(std::string_view text) const;
  // num_perm values; empty when the text has no token.
  std::vector<uint32_t> signature(std::string_view text) const;
  std::vector<uint32_t> signature_of(const std::vector<uint64_t>& shingle_hashes) const;
  std::size_t num_perm() const { return a_.size(); }

 private:
  MinHashOptions options_;
  std::vector<uint64_t> a_, b_;
};

// The fraction of equal values: the MinHash estimate of the Jaccard similarity.
double estimate_jaccard(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

struct LshShape {
  std::size_t bands = 0, rows = 0;
};
// Probability that two texts of Jaccard similarity `s` share at least one band.
double lsh_catch_probability(double s, const LshShape& shape);
// The recall-weighted choice of Note [MinHash and LSH].
LshShape optimal_lsh_shape(double threshold, std::size_t num_perm);

}  // namespace lmf::data
