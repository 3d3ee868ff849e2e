// The searches, grid and packing against the reference AutoAWQ (its _compute_best_scale,
// _compute_best_clip, pseudo_quantize_tensor and WQLinear_GEMM packing, transcribed in
// tests/fixtures/quantizer/awq/make_awq_fixtures.py and run with torch on the GPU machine).
// Skipped until the fixtures exist.
#include "awq_clip_search.h"
#include "awq_gemm_layout.h"
#include "awq_grid.h"
#include "awq_scale_search.h"
#include "checkpoint/safetensors_reader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace lmf::quant::awq;
namespace fs = std::filesystem;

fs::path fixture(const std::string& file) {
  return fs::path(LMF_AWQ_FIXTURES_DIR) / file;
}

#define SKIP_WITHOUT_AWQ_FIXTURES()                                                            \
  if (!fs::exists(fixture("awq_reference.json")))                                              \
  GTEST_SKIP() << fixture("awq_reference.json").string()                                       \
               << " is missing: run python3 tests/fixtures/quantizer/awq/make_awq_fixtures.py" \
                  " on the GPU machine"

class ReferenceTensors {
 public:
  ReferenceTensors() : reader_(fixture("awq_reference.safetensors")) {}
  torch::Tensor operator[](const std::string& name) const {
    const lmf::checkpoint::TensorEntry& entry = reader_.at(name);
    const auto type = entry.dtype == lmf::checkpoint::DType::U8    ? torch::kUInt8
                      : entry.dtype == lmf::checkpoint::DType::I32 ? torch::kInt32
                      : entry.dtype == lmf::checkpoint::DType::F16 ? torch::kHalf
                                                                   : torch::kFloat32;
    return torch::from_blob(const_cast<std::byte*>(entry.data), entry.shape, type).clone();
  }

 private:
  lmf::checkpoint::SafetensorsReader reader_;
};

nlohmann::json reference_cases() {
  std::ifstream in(fixture("awq_reference.json"));
  return nlohmann::json::parse(in).at("cases");
}

AwqOptions case_options(const nlohmann::json& c) {
  AwqOptions o;
  o.group_size = c.at("group_size");
  o.duo_scaling = c.at("duo_scaling");
  return o;
}

std::vector<int32_t> int_vector(const torch::Tensor& t) {
  const torch::Tensor flat = t.to(torch::kInt32).contiguous();
  return {flat.data_ptr<int32_t>(), flat.data_ptr<int32_t>() + flat.numel()};
}

TEST(AwqReferenceParity, ScaleSearchMatchesComputeBestScale) {
  SKIP_WITHOUT_AWQ_FIXTURES();
  const ReferenceTensors reference;
  const nlohmann::json cases = reference_cases();
  ASSERT_GE(cases.size(), 2u);
  for (const nlohmann::json& c : cases) {
    const std::string name = c.at("name");
    SCOPED_TRACE(name);
    std::vector<torch::Tensor> weights;
    for (const std::string linear : c.at("linears"))
      weights.push_back(reference[name + "." + linear]);
    const ScaleSearchResult got =
        search_scales(reference[name + ".inputs"], weights, case_options(c), name);
    // The script checked that the best loss beats the runner-up by 1e-4 relative, far more
    // than float32 summation orders move a loss; so the winner must be the same.
    EXPECT_EQ(got.best_index, c.at("best_index").get<int>());
    EXPECT_DOUBLE_EQ(got.best_ratio, c.at("best_ratio").get<double>());
    const torch::Tensor losses = reference[name + ".losses"].to(torch::kFloat64);
    ASSERT_EQ(got.losses.size(), static_cast<size_t>(losses.numel()));
    for (size_t k = 0; k < got.losses.size(); ++k)
      EXPECT_NEAR(got.losses[k], losses[static_cast<int64_t>(k)].item<double>(),
                  1e-4 * losses[static_cast<int64_t>(k)].item<double>())
          << "ratio " << k;
    EXPECT_TRUE(torch::allclose(got.scales, reference[name + ".scales"], 1e-5, 0));
  }
}

// On the reference's own W·s and x/s (so that the inputs are the same bits), the thresholds.
// The two sum a group's products in different orders (bmm here, an elementwise product and
// sum there), so a shrink step whose error ties with another's to float32 precision may go
// either way: at most 2% of the (row, group) thresholds may differ, each by one step.
TEST(AwqReferenceParity, ClipSearchMatchesComputeBestClip) {
  SKIP_WITHOUT_AWQ_FIXTURES();
  const ReferenceTensors reference;
  for (const nlohmann::json& c : reference_cases()) {
    const std::string name = c.at("name");
    const torch::Tensor scales = reference[name + ".scales"];
    const torch::Tensor x = scale_inputs(reference[name + ".inputs"], scales);
    for (const std::string linear : c.at("linears")) {
      SCOPED_TRACE(name + "." + linear);
      const bool clipped = std::find(c.at("clipped").begin(), c.at("clipped").end(), linear) !=
                           c.at("clipped").end();
      EXPECT_EQ(clipped, !avoids_clipping(linear));
      if (!clipped) continue;
      const torch::Tensor w = scale_weight(reference[name + "." + linear], scales);
      const ClipSearchResult got = search_clip(w, x, case_options(c), linear);
      const torch::Tensor want = reference[name + "." + linear + ".max_val"];
      ASSERT_EQ(got.max_val.sizes(), want.sizes());
      const torch::Tensor differ = got.max_val.ne(want);
      EXPECT_LE(differ.sum().item<int64_t>(), want.numel() / 50);
      const torch::Tensor original = w.reshape({w.size(0), want.size(1), -1}).abs().amax(2);
      EXPECT_LE(((got.max_val - want).abs() / original).max().item<double>(), 0.05 + 1e-6);
    }
  }
}

// On the reference's clipped (or unclipped) W·s: codes, grid and packed words, bit for bit.
TEST(AwqReferenceParity, GridAndPackingMatchPseudoQuantizeAndFromLinear) {
  SKIP_WITHOUT_AWQ_FIXTURES();
  const ReferenceTensors reference;
  for (const nlohmann::json& c : reference_cases()) {
    const std::string name = c.at("name");
    const AwqOptions options = case_options(c);
    for (const std::string linear : c.at("linears")) {
      const std::string key = name + "." + linear;
      SCOPED_TRACE(key);
      torch::Tensor w = scale_weight(reference[key], reference[name + ".scales"]);
      const std::vector<std::string> names = c.at("clipped");
      if (std::find(names.begin(), names.end(), linear) != names.end()) {
        EXPECT_TRUE(torch::equal(apply_clip(w, reference[key + ".max_val"], options),
                                 reference[key + ".clipped"]));
        w = reference[key + ".clipped"];
      }
      const AwqQuantized q = quantize_groups(w, options, GridRule::kReference, key);
      EXPECT_TRUE(torch::equal(q.codes.to(torch::kUInt8), reference[key + ".codes"]));
      EXPECT_TRUE(torch::equal(q.scales.t(), reference[key + ".qscales"]));
      EXPECT_TRUE(torch::equal(q.zeros.t().to(torch::kInt32), reference[key + ".qzeros_f"]));
      const AwqGemmTensors packed = pack_awq_gemm(to_quantized_codes(q, options, key), key);
      EXPECT_EQ(packed.qweight, int_vector(reference[key + ".qweight"]));
      EXPECT_EQ(packed.qzeros, int_vector(reference[key + ".qzeros"]));
      const torch::Tensor scales16 = reference[key + ".scales16"].contiguous();
      const auto* bits = reinterpret_cast<const uint16_t*>(scales16.data_ptr<at::Half>());
      EXPECT_EQ(packed.scales, std::vector<uint16_t>(bits, bits + scales16.numel()));
    }
  }
}

}  // namespace
