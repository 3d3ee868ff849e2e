// Shared by the torch backend's tests: the fixture models, their expected outputs (written
// by tests/fixtures/backend/make_backend_fixtures.py with transformers), and a host API
// table for the SDK calls the engine makes (progress, metrics, logs).
#pragma once

#include "checkpoint/safetensors_reader.h"
#include "core/plugin/host_api.h"
#include "loaded_model.h"

#include <lmf/sdk/error.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <string>

namespace lmf::torch_backend::testing {

inline std::string fixture(const std::string& name) {
  return std::string(LMF_BACKEND_FIXTURES_DIR) + "/" + name;
}

inline nlohmann::json expected_json(const std::string& model) {
  std::ifstream in(fixture(model) + "/expected/expected.json");
  return nlohmann::json::parse(in);
}

// A tensor of expected/logits.safetensors, copied out of the mapping.
inline torch::Tensor expected_tensor(const std::string& model, const std::string& name) {
  checkpoint::SafetensorsReader file(fixture(model) + "/expected/logits.safetensors");
  const checkpoint::TensorEntry& entry = file.at(name);
  const auto type = entry.dtype == checkpoint::DType::F32 ? torch::kFloat32 : torch::kInt64;
  return torch::from_blob(const_cast<std::byte*>(entry.data), entry.shape, type).clone();
}

// Parity settings: fp32 on the CPU, attention as transformers' eager mode computes it.
inline std::unique_ptr<LoadedModel> load_fixture(const std::string& model) {
  LoadOptions options;
  options.device = "cpu";
  options.dtype = "float32";
  options.fused_attention = false;
  return LoadedModel::load(fixture(model), options);
}

// max |a - b| / max |b|: the relative error of a logits tensor, robust to logits near 0.
inline double relative_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  return ((actual - expected).abs().max() / expected.abs().max()).item<double>();
}

class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override { sdk::g_host_context.api = lmf::plugin::host_api(); }
  void TearDown() override { sdk::g_host_context = {}; }
};

inline const char* kFamilies[] = {"llama3_tiny", "llama2_tiny_sharded", "qwen2_tiny"};

}  // namespace lmf::torch_backend::testing
