// Reference values of the training math (optimizer, clipping, schedules, losses), written
// by tests/fixtures/training/make_optimizer_fixtures.py with torch and transformers on the
// GPU machine into tests/fixtures/training/optimizer/.
#pragma once

#include "checkpoint/safetensors_reader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace lmf::torch_backend::testing {

inline std::filesystem::path optimizer_fixture(const std::string& file) {
  return std::filesystem::path(LMF_TRAINING_FIXTURES_DIR) / "optimizer" / file;
}

// Skips the test while the generator has not been run.
#define SKIP_WITHOUT_OPTIMIZER_FIXTURE(file)                                                    \
  if (!std::filesystem::exists(optimizer_fixture(file)))                                        \
  GTEST_SKIP() << optimizer_fixture(file).string()                                              \
               << " is missing: run python3 tests/fixtures/training/make_optimizer_fixtures.py" \
                  " on the GPU machine"

inline nlohmann::json fixture_json(const std::string& file) {
  std::ifstream in(optimizer_fixture(file));
  return nlohmann::json::parse(in);
}

// The tensors of one fixture file, copied out of the mapping.
class FixtureTensors {
 public:
  explicit FixtureTensors(const std::string& file) : reader_(optimizer_fixture(file)) {}
  torch::Tensor operator[](const std::string& name) const {
    const checkpoint::TensorEntry& entry = reader_.at(name);
    const auto type = entry.dtype == checkpoint::DType::I64 ? torch::kInt64 : torch::kFloat32;
    return torch::from_blob(const_cast<std::byte*>(entry.data), entry.shape, type).clone();
  }

 private:
  checkpoint::SafetensorsReader reader_;
};

// |actual − expected| ≤ atol + rtol·|expected| everywhere, with the worst element named.
inline ::testing::AssertionResult all_close(const torch::Tensor& actual,
                                            const torch::Tensor& expected, double rtol,
                                            double atol) {
  if (actual.sizes() != expected.sizes())
    return ::testing::AssertionFailure()
           << "shape " << actual.sizes() << " vs " << expected.sizes();
  torch::Tensor a = actual.to(torch::kFloat64), e = expected.to(torch::kFloat64);
  torch::Tensor excess = (a - e).abs() - (atol + rtol * e.abs());
  if (excess.numel() == 0 || excess.max().item<double>() <= 0) return ::testing::AssertionSuccess();
  const int64_t worst = excess.flatten().argmax().item<int64_t>();
  return ::testing::AssertionFailure()
         << "element " << worst << ": " << a.flatten()[worst].item<double>() << " vs expected "
         << e.flatten()[worst].item<double>() << " (max |diff| "
         << (a - e).abs().max().item<double>() << ")";
}

}  // namespace lmf::torch_backend::testing
