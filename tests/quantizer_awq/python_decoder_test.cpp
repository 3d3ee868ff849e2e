// The AWQ GEMM layers lmforge packs, decoded by an independent Python decoder written from
// AutoAWQ's and vLLM's unpacking (tests/fixtures/quantizer/awq/decode_awq.py): its weights
// must equal (codes − zeros)·scales of what was packed, bit for bit. Runs where python3 has
// numpy (the GPU machine); skipped elsewhere.
#include "awq_gemm_layout.h"
#include "awq_grid.h"
#include "tests/quantizer_rtn/npy.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

using namespace lmf::quant::awq;
namespace fs = std::filesystem;

using lmf::quant::testing::python_has_numpy;

// Writes the three tensors and config.json into `folder`, runs the decoder, returns its
// float32 [out, in] weights (empty on failure, with the failure reported).
std::vector<float> decode(const AwqGemmTensors& t, const fs::path& folder) {
  fs::create_directories(folder);
  const int64_t words = t.out_features / 8;
  lmf::quant::testing::write_npy(folder / "qweight.npy", "<i4", {t.in_features, words},
                                 t.qweight.data(), t.qweight.size() * 4);
  lmf::quant::testing::write_npy(folder / "qzeros.npy", "<i4", {t.groups, words}, t.qzeros.data(),
                                 t.qzeros.size() * 4);
  lmf::quant::testing::write_npy(folder / "scales.npy", "<f2", {t.groups, t.out_features},
                                 t.scales.data(), t.scales.size() * 2);
  std::ofstream(folder / "config.json")
      << nlohmann::json{{"quantization_config", awq_quantization_config(t.group_size)}}.dump();
  std::vector<int64_t> shape;
  std::vector<float> weight;
  try {
    weight = lmf::quant::testing::run_numpy_decoder(LMF_AWQ_DECODER, folder, &shape);
  } catch (const std::runtime_error& error) {
    ADD_FAILURE() << error.what();
    return {};
  }
  EXPECT_EQ(shape, (std::vector<int64_t>{t.out_features, t.in_features}));
  return weight;
}

TEST(AwqPythonDecoder, DecodesWhatTheGridAndPackerWrite) {
  if (!python_has_numpy())
    GTEST_SKIP()
        << "python3 with numpy is not available here, so the independent decoder (" LMF_AWQ_DECODER
           ") cannot run; it runs where numpy is (the GPU machine)";
  lmf::testing::TempDir dir("lmf_awq_decoder");
  torch::manual_seed(21);
  for (int64_t group : {128, 64, -1}) {
    SCOPED_TRACE(group);
    AwqOptions options;
    options.group_size = group;
    // A trained-like weight with a few large columns, already scaled as AWQ stores it.
    torch::Tensor w = torch::randn({48, 256}) * 0.02 * torch::exp(torch::rand({48, 1}) * 2 - 1);
    w.select(1, 17).mul_(8.0);
    const AwqQuantized q = quantize_groups(w, options, GridRule::kCheckpoint, "decoder");
    const AwqGemmTensors packed =
        pack_awq_gemm(to_quantized_codes(q, options, "decoder"), "decoder");
    const std::vector<float> decoded =
        decode(packed, dir.path() / ("group" + std::to_string(group)));
    const torch::Tensor expected = q.dequantized.contiguous();
    ASSERT_EQ(decoded.size(), static_cast<size_t>(expected.numel()));
    EXPECT_EQ(decoded, std::vector<float>(expected.data_ptr<float>(),
                                          expected.data_ptr<float>() + expected.numel()));
  }
}

}  // namespace
