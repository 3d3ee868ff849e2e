// The GPTQ layers lmforge writes, decoded by an independent Python decoder written from
// AutoGPTQ's and vLLM's unpacking (tests/fixtures/quantizer/gptq_layout/decode_gptq.py):
// its weights must equal what the rtn plugin's dequantize gives, bit for bit. Runs where
// python3 has numpy (the GPU machine); skipped elsewhere.
#include "plugins/quantizer/common/gptq_layout.h"
#include "tests/quantizer_rtn/npy.h"
#include "tests/quantizer_rtn/quantizer_session.h"
#include "tests/quantizer_rtn/test_layers.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace {

using lmf::quant::testing::layer_tensor;
using lmf::quant::testing::RtnSession;
using nlohmann::json;
namespace fs = std::filesystem;

using lmf::quant::testing::python_has_numpy;

class PythonDecoder : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_has_numpy())
      GTEST_SKIP() << "python3 with numpy is not available here, so the independent decoder "
                      "(" LMF_GPTQ_DECODER ") cannot run; it runs where numpy is (the GPU machine)";
  }

  // Writes the layer's four tensors and quantize_config.json into a fresh folder, runs the
  // decoder there, and returns its float32 [out, in] weights.
  std::vector<float> decode(const lmf_quantized_layer& layer, int bits) {
    const fs::path folder = dir_.path() / ("layer" + std::to_string(count_++));
    fs::create_directories(folder);
    const std::pair<const char*, const char*> tensors[] = {
        {"qweight", "<i4"}, {"qzeros", "<i4"}, {"scales", "<f2"}, {"g_idx", "<i4"}};
    for (auto [name, descr] : tensors) {
      const DLTensor* t = layer_tensor(layer, name);
      EXPECT_NE(t, nullptr) << name;
      if (t == nullptr) return {};
      const std::vector<int64_t> shape(t->shape, t->shape + t->ndim);
      size_t count = 1;
      for (int64_t extent : shape) count *= static_cast<size_t>(extent);
      lmf::quant::testing::write_npy(folder / (std::string(name) + ".npy"), descr, shape,
                                     static_cast<const char*>(t->data) + t->byte_offset,
                                     count * t->dtype.bits / 8);
    }
    std::ofstream(folder / "quantize_config.json")
        << lmf::quant::gptq_quantization_config(bits, -1, true, false).dump();
    std::vector<int64_t> shape;
    std::vector<float> weight;
    try {
      weight = lmf::quant::testing::run_numpy_decoder(LMF_GPTQ_DECODER, folder, &shape);
    } catch (const std::runtime_error& error) {
      ADD_FAILURE() << error.what();
      return {};
    }
    EXPECT_EQ(shape, (std::vector<int64_t>{layer.out_features, layer.in_features}));
    return weight;
  }

  lmf::testing::TempDir dir_{"lmf_gptq_decoder"};
  int count_ = 0;
};

TEST_F(PythonDecoder, DecodesWhatRtnWritesAtEveryBitWidth) {
  const lmf::conformance::Matrix w = lmf::conformance::trained_like_weight(64, 256, 21);
  const json configs[] = {
      {{"bits", 4}, {"group_size", 128}, {"sym", true}},
      {{"bits", 3}, {"group_size", 32}, {"sym", false}},
      {{"bits", 2}, {"group_size", 64}, {"sym", true}},
      {{"bits", 8}, {"group_size", -1}, {"sym", false}},
  };
  for (const json& config : configs) {
    RtnSession rtn(config);
    const lmf_quantized_layer* layer = nullptr;
    ASSERT_TRUE(rtn.quantize("model.layers.0.mlp.up_proj", 64, 256, w.values, &layer).ok);
    EXPECT_EQ(decode(*layer, config.at("bits")), rtn.dequantize(layer)) << config.dump();
  }
}

TEST_F(PythonDecoder, DecodesActOrderLayersAsImported) {
  RtnSession rtn;
  for (int bits : {3, 4}) {
    const auto codes = lmf::quant::testing::random_codes(bits, 96, 128, 32, true, 5);
    const lmf::quant::GptqTensors packed = lmf::quant::pack_gptq(codes);
    const lmf::quant::GptqShapes shapes = lmf::quant::gptq_shapes(bits, 96, 128, 4);
    std::vector<lmf::quant::testing::HostTensor> tensors;
    tensors.emplace_back(DLDataType{kDLInt, 32, 1}, shapes.qweight);
    tensors.emplace_back(DLDataType{kDLInt, 32, 1}, shapes.qzeros);
    tensors.emplace_back(DLDataType{kDLFloat, 16, 1}, shapes.scales);
    tensors.emplace_back(DLDataType{kDLInt, 32, 1}, shapes.g_idx);
    std::memcpy(tensors[0].data<char>(), packed.qweight.data(), tensors[0].bytes());
    std::memcpy(tensors[1].data<char>(), packed.qzeros.data(), tensors[1].bytes());
    std::memcpy(tensors[2].data<char>(), packed.scales.data(), tensors[2].bytes());
    std::memcpy(tensors[3].data<char>(), packed.g_idx.data(), tensors[3].bytes());
    const std::string names[] = {"qweight", "qzeros", "scales", "g_idx"};
    std::vector<lmf_named_tensor> named;
    for (size_t i = 0; i < 4; ++i)
      named.push_back({lmf::quant::testing::view_of(names[i]), tensors[i].managed()});
    const json format = {
        {"format", "gptq"}, {"bits", bits}, {"group_size", 32}, {"sym", false}, {"desc_act", true}};
    const lmf_quantized_layer* layer = nullptr;
    ASSERT_TRUE(rtn.import_layer(named, format.dump(), &layer).ok);
    const std::vector<float> decoded = decode(*layer, bits);
    EXPECT_EQ(decoded, rtn.dequantize(layer)) << bits << " bits";
    EXPECT_EQ(decoded, lmf::quant::testing::reference_weight(codes)) << bits << " bits";
  }
}

}  // namespace
