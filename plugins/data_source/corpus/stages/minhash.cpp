#include "stages/minhash.h"

#include "text/hash.h"
#include "text/script.h"
#include "text/utf8.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace lmf::data {

namespace {

std::vector<uint64_t> token_hashes(std::string_view text, ShingleUnit unit) {
  std::vector<uint64_t> tokens;
  if (unit == ShingleUnit::auto_words) {
    std::string folded;
    for (const script::Word& word : script::words(text, folded))
      tokens.push_back(hash64(std::string_view(folded).substr(word.begin, word.end - word.begin)));
    return tokens;
  }
  std::string folded(text);
  for (char& c : folded)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  std::size_t word_start = std::string::npos;
  utf8::for_each(folded, [&](char32_t cp, std::size_t at, std::size_t length) {
    const bool space = script::is_space(cp);
    if (unit == ShingleUnit::chars) {
      if (!space) tokens.push_back(hash64(std::string_view(folded).substr(at, length)));
      return;
    }
    if (space && word_start != std::string::npos) {
      tokens.push_back(hash64(std::string_view(folded).substr(word_start, at - word_start)));
      word_start = std::string::npos;
    } else if (!space && word_start == std::string::npos) {
      word_start = at;
    }
  });
  if (word_start != std::string::npos)
    tokens.push_back(hash64(std::string_view(folded).substr(word_start)));
  return tokens;
}

// Simpson's rule on [a, b] with an even number of intervals.
template <class F>
double integrate(F f, double a, double b, int intervals = 200) {
  if (b <= a) return 0.0;
  const double h = (b - a) / intervals;
  double sum = f(a) + f(b);
  for (int i = 1; i < intervals; ++i) sum += f(a + i * h) * (i % 2 == 1 ? 4 : 2);
  return sum * h / 3;
}

}  // namespace

MinHasher::MinHasher(const MinHashOptions& options) : options_(options) {
  uint64_t state = options.seed;
  auto next = [&] {
    state += 0x9E3779B97F4A7C15ull;
    return mix64(state);
  };
  for (std::size_t i = 0; i < options.num_perm; ++i) {
    a_.push_back(next() | 1);
    b_.push_back(next());
  }
}

std::vector<uint64_t> MinHasher::shingles(std::string_view text) const {
  const std::vector<uint64_t> tokens = token_hashes(text, options_.unit);
  std::vector<uint64_t> out;
  if (tokens.empty()) return out;
  const std::size_t k = std::max<std::size_t>(1, std::min(options_.shingle_size, tokens.size()));
  for (std::size_t i = 0; i + k <= tokens.size(); ++i)
    out.push_back(hash64(tokens.data() + i, k * sizeof(uint64_t), 0x5348494E474C45ull));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint32_t> MinHasher::signature_of(const std::vector<uint64_t>& shingle_hashes) const {
  if (shingle_hashes.empty()) return {};
  const std::size_t n = a_.size();
  std::vector<uint64_t> minimum(n, std::numeric_limits<uint64_t>::max());
  for (uint64_t h : shingle_hashes)
    for (std::size_t i = 0; i < n; ++i) minimum[i] = std::min(minimum[i], a_[i] * h + b_[i]);
  std::vector<uint32_t> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<uint32_t>(minimum[i] >> 32);
  return out;
}

std::vector<uint32_t> MinHasher::signature(std::string_view text) const {
  return signature_of(shingles(text));
}

double estimate_jaccard(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  const std::size_t n = std::min(a.size(), b.size());
  if (n == 0) return 0.0;
  std::size_t equal = 0;
  for (std::size_t i = 0; i < n; ++i) equal += a[i] == b[i];
  return static_cast<double>(equal) / static_cast<double>(n);
}

double lsh_catch_probability(double s, const LshShape& shape) {
  return 1.0 - std::pow(1.0 - std::pow(s, static_cast<double>(shape.rows)),
                        static_cast<double>(shape.bands));
}

LshShape optimal_lsh_shape(double threshold, std::size_t num_perm) {
  LshShape best{1, std::max<std::size_t>(1, num_perm)};
  double best_error = std::numeric_limits<double>::infinity();
  for (std::size_t bands = 1; bands <= num_perm; ++bands) {
    for (std::size_t rows = 1; bands * rows <= num_perm; ++rows) {
      const LshShape shape{bands, rows};
      const double false_positive =
          integrate([&](double s) { return lsh_catch_probability(s, shape); }, 0.0, threshold);
      const double false_negative = integrate(
          [&](double s) { return 1.0 - lsh_catch_probability(s, shape); }, threshold, 1.0);
      const double error = 0.1 * false_positive + 0.9 * false_negative;
      if (error < best_error - 1e-12) {
        best_error = error;
        best = shape;
      }
    }
  }
  return best;
}

}  // namespace lmf::data
