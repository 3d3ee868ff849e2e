#include "tests/conformance/quantizer/test_weights.h"

#include <cmath>
#include <numbers>

namespace lmf::conformance {

uint64_t Random::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Random::uniform() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

double Random::uniform(double lo, double hi) {
  return lo + (hi - lo) * uniform();
}

double Random::normal() {
  const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

namespace {

Matrix zeros(int64_t rows, int64_t cols) {
  return Matrix{rows, cols, std::vector<float>(static_cast<size_t>(rows * cols), 0.0f)};
}

float& at(Matrix& m, int64_t r, int64_t c) {
  return m.values[static_cast<size_t>(r * m.cols + c)];
}

}  // namespace

Matrix random_weight(int64_t rows, int64_t cols, uint64_t seed) {
  Random random(seed);
  Matrix w = zeros(rows, cols);
  for (float& value : w.values) value = static_cast<float>(random.uniform(-1.0, 1.0));
  const int64_t zero_row = static_cast<int64_t>(seed % static_cast<uint64_t>(rows));
  for (int64_t c = 0; c < cols; ++c) at(w, zero_row, c) = 0.0f;
  return w;
}

Matrix trained_like_weight(int64_t rows, int64_t cols, uint64_t seed) {
  Random random(seed);
  Matrix w = zeros(rows, cols);
  const int64_t hot_channel = static_cast<int64_t>(random.next() % static_cast<uint64_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    // Row scales from ~0.003 to ~0.15, as in the projections of a trained transformer.
    const double sigma = 0.02 * std::exp(random.uniform(-2.0, 2.0));
    for (int64_t c = 0; c < cols; ++c) {
      double value = sigma * random.normal();
      if (c == hot_channel) value *= 8.0;
      if (random.uniform() < 0.005)
        value = sigma * random.uniform(10.0, 30.0) * (random.uniform() < 0.5 ? -1 : 1);
      at(w, r, c) = static_cast<float>(value);
    }
  }
  // A row far smaller than the others, and a pruned (all-zero) row.
  for (int64_t c = 0; c < cols; ++c) at(w, rows / 3, c) *= 1e-4f;
  for (int64_t c = 0; c < cols; ++c) at(w, rows - 1, c) = 0.0f;
  return w;
}

Matrix activations(int64_t tokens, int64_t cols, uint64_t seed) {
  Random random(seed);
  Matrix x = zeros(tokens, cols);
  for (int64_t c = 0; c < cols; ++c) {
    const double scale = c % 17 == 3 ? 6.0 : 1.0;
    for (int64_t t = 0; t < tokens; ++t) at(x, t, c) = static_cast<float>(scale * random.normal());
  }
  return x;
}

std::vector<WeightCase> weight_cases() {
  std::vector<WeightCase> cases;
  const int64_t shapes[][2] = {{16, 256}, {13, 37}, {33, 130}, {8, 64}};
  for (const auto& shape : shapes)
    for (uint64_t seed : {1, 2, 3})
      cases.push_back({"random " + std::to_string(shape[0]) + "x" + std::to_string(shape[1]) +
                           " seed " + std::to_string(seed),
                       random_weight(shape[0], shape[1], seed)});
  const int64_t trained_shapes[][2] = {{64, 256}, {48, 384}, {21, 100}};
  uint64_t seed = 11;
  for (const auto& shape : trained_shapes) {
    cases.push_back({"trained-like " + std::to_string(shape[0]) + "x" + std::to_string(shape[1]) +
                         " seed " + std::to_string(seed),
                     trained_like_weight(shape[0], shape[1], seed)});
    ++seed;
  }
  return cases;
}

}  // namespace lmf::conformance
