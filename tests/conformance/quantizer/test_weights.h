// The weights and inputs the quantizer conformance suite feeds to every quantizer: random
// matrices, and "trained-like" ones with the features that break careless quantizers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::conformance {

// A row-major float matrix [rows, cols].
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<float> values;

  float at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
};

struct WeightCase {
  std::string name;  // names the case in failure messages, e.g. "random 13x37 seed 2"
  Matrix weight;
};

// splitmix64: a small deterministic generator, so that a failure reproduces exactly.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();  // [0, 1)
  double uniform(double lo, double hi);
  double normal();  // standard normal (Box-Muller)

 private:
  uint64_t state_;
};

// Uniform in [-1, 1), with row `seed % rows` set to zeros.
Matrix random_weight(int64_t rows, int64_t cols, uint64_t seed);

// Like a trained linear layer: Gaussian rows whose scales span two orders of magnitude, a
// few large outliers, one input channel that is large in every row, one tiny row and one
// row of zeros.
Matrix trained_like_weight(int64_t rows, int64_t cols, uint64_t seed);

// Activations [tokens, cols] for matmul and calibration: Gaussian, some channels larger.
Matrix activations(int64_t tokens, int64_t cols, uint64_t seed);

// Every case the suite runs: several seeds and shapes (including extents that are not
// multiples of 8) of random weights, and trained-like weights.
std::vector<WeightCase> weight_cases();

}  // namespace lmf::conformance
