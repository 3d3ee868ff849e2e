// The nf4 plugin through the C ABI, as a model backend drives it: its claims, the layout
// of its layers (Note [NF4 checkpoint layout]), the error of double quantization, import
// round trips and the errors that name what to fix.
#include "plugins/quantizer/nf4/nf4_kernels_cuda.h"
#include "tests/quantizer_nf4/nf4_plugin_session.h"
#include "tests/quantizer_nf4/nf4_test_support.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

namespace lmf::quant::nf4::testing {
namespace {

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<int64_t> shape_of(const DLTensor& t) {
  return std::vector<int64_t>(t.shape, t.shape + t.ndim);
}

// Gaussian rows whose scales span two orders of magnitude, one row of zeros.
std::vector<float> trained_like(int64_t rows, int64_t cols, uint32_t seed) {
  std::vector<float> w = gaussian(static_cast<size_t>(rows * cols), 1.0f, seed);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      w[static_cast<size_t>(r * cols + c)] *=
          0.002f * std::pow(100.0f, static_cast<float>(r) / rows);
  for (int64_t c = 0; c < cols; ++c) w[static_cast<size_t>(3 * cols + c)] = 0.0f;
  return w;
}

TEST(Nf4Plugin, ClaimsWhatItDoes) {
  Nf4Session session;
  EXPECT_EQ(session.ref().plugin->name(), "lmforge-quantizer-nf4");
  json expected = json::parse(R"({"formats":["nf4"],"bits":[4],
    "group_sizes":[64],"symmetric":[true],"needs_calibration":false,"devices":["cpu"],
    "ops":["dequantize","matmul","import_layer"]})");
  if (nf4_cuda_kernels_compiled()) {  // Note [NF4 CUDA kernels]
    expected["devices"].push_back("cuda");
    expected["matmul_tokens"] = 8;
  }
  EXPECT_EQ(session.capabilities(), expected);
  Nf4Session blocks_of_128(json{{"block_size", 128}});
  EXPECT_EQ(blocks_of_128.capabilities().at("group_sizes"), json::array({128}));
}

TEST(Nf4Plugin, SchemaFillsDefaultsAndRefusesWhatBitsandbytesCannotExpress) {
  Nf4Session session;
  const json schema = json::parse(session.ref().schema());
  json config = json::object();
  EXPECT_TRUE(config::validate(schema, config).empty());
  EXPECT_EQ(config,
            json::parse(R"({"block_size":64,"double_quant":true,"quant_storage":"uint8"})"));
  for (int64_t size : {32, 4096}) {
    json good = {{"block_size", size}};
    EXPECT_TRUE(config::validate(schema, good).empty()) << size;
  }
  for (json bad : {json{{"block_size", 48}}, json{{"block_size", 16}}, json{{"block_size", 8192}},
                   json{{"block_size", "64"}}, json{{"double_quant", "yes"}},
                   json{{"quant_storage", "bfloat16"}}, json{{"blocksize", 64}}})
    EXPECT_FALSE(config::validate(schema, bad).empty()) << bad.dump() << " was accepted";
}

TEST(Nf4Plugin, CreateRefusesABlockSizeNamingIt) {
  // A caller that skips schema validation still gets a clear refusal.
  Nf4Session session;
  try {
    plugin::ComponentInstance instance(session.ref(), json{{"block_size", 48}});
    ADD_FAILURE() << "block_size 48 was accepted";
  } catch (const std::exception& e) {
    EXPECT_TRUE(mentions(e.what(), "block_size 48")) << e.what();
    EXPECT_TRUE(mentions(e.what(), "32, 64, 128")) << e.what();
  }
}

TEST(Nf4Plugin, LayerHoldsTransformersTensorsWithDoubleQuantization) {
  Nf4Session session;
  const lmf_quantized_layer* layer = nullptr;
  ASSERT_TRUE(session.quantize("l", 16, 64, gaussian(16 * 64, 0.02f, 1), &layer).ok());
  struct Expected {
    std::string name;
    DLDataTypeCode code;
    std::vector<int64_t> shape;
  };
  const Expected expected[] = {
      {"weight", kDLUInt, {512, 1}},         {"absmax", kDLUInt, {16}},
      {"quant_map", kDLFloat, {16}},         {"nested_absmax", kDLFloat, {1}},
      {"nested_quant_map", kDLFloat, {256}}, {"nested_offset", kDLFloat, {1}}};
  EXPECT_EQ(layer->tensor_count, std::size(expected));
  for (const Expected& e : expected) {
    const DLTensor* t = layer_tensor(*layer, e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(t->dtype.code, e.code) << e.name;
    EXPECT_EQ(t->dtype.bits, e.code == kDLUInt ? 8 : 32) << e.name;
    EXPECT_EQ(shape_of(*t), e.shape) << e.name;
  }
  const float* quant_map = static_cast<const float*>(layer_tensor(*layer, "quant_map")->data);
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(quant_map[i], static_cast<float>(kBitsandbytesNf4[i]));
  EXPECT_EQ(format_of(*layer), json::parse(R"({"format":"nf4","quant_type":"nf4","bits":4,
    "sym":true,"group_size":64,"blocksize":64,"double_quant":true,"nested_blocksize":256,
    "quant_storage":"uint8","shape":[16,64],"tensors":["weight","absmax","quant_map",
    "nested_absmax","nested_quant_map","nested_offset"]})"));
}

TEST(Nf4Plugin, LayerWithoutDoubleQuantizationKeepsFloatAbsmax) {
  Nf4Session session(json{{"double_quant", false}, {"block_size", 32}});
  const lmf_quantized_layer* layer = nullptr;
  // Row 0 is block 0 (absmax 1), row 1 block 1 (absmax 2): codes worked out by hand.
  std::vector<float> w(64, 0.0f);
  const float row0[] = {1.0f, -1.0f, 0.0f, 0.5f};
  const float row1[] = {-2.0f, 1.0f, 0.1f, 0.0f};
  std::copy(std::begin(row0), std::end(row0), w.begin());
  std::copy(std::begin(row1), std::end(row1), w.begin() + 32);
  ASSERT_TRUE(session.quantize("l", 2, 32, w, &layer).ok());
  EXPECT_EQ(layer->tensor_count, 3u);
  const DLTensor* absmax = layer_tensor(*layer, "absmax");
  ASSERT_EQ(absmax->dtype.code, kDLFloat);
  EXPECT_EQ(static_cast<const float*>(absmax->data)[0], 1.0f);
  EXPECT_EQ(static_cast<const float*>(absmax->data)[1], 2.0f);
  const auto* packed = static_cast<const uint8_t*>(layer_tensor(*layer, "weight")->data);
  EXPECT_EQ(packed[0], 0xF0);   // 1 -> 15 high, -1 -> 0 low
  EXPECT_EQ(packed[1], 0x7C);   // 0 -> 7, 0.5 -> 12
  EXPECT_EQ(packed[16], 0x0C);  // -2 / 2 -> 0, 1 / 2 -> 12
  EXPECT_EQ(packed[17], 0x87);  // 0.1 / 2 -> 8, 0 -> 7
  EXPECT_EQ(format_of(*layer).at("double_quant"), false);
  EXPECT_FALSE(format_of(*layer).contains("nested_blocksize"));
}

TEST(Nf4Plugin, DequantizedWeightsAreWithinTheDoubleQuantizationBound) {
  const int64_t rows = 96, cols = 256;  // 384 blocks: two nested blocks of absmax
  const std::vector<float> w = trained_like(rows, cols, 5);
  Nf4Session with_dq, without_dq(json{{"double_quant", false}});
  const lmf_quantized_layer *dq = nullptr, *plain = nullptr;
  ASSERT_TRUE(with_dq.quantize("l", rows, cols, w, &dq).ok());
  ASSERT_TRUE(without_dq.quantize("l", rows, cols, w, &plain).ok());
  const std::vector<float> w_dq = with_dq.dequantize(dq), w_plain = without_dq.dequantize(plain);

  const size_t blocks = w.size() / 64;
  std::vector<double> absmax(blocks, 0.0);
  for (size_t i = 0; i < w.size(); ++i)
    absmax[i / 64] = std::max<double>(absmax[i / 64], std::fabs(w[i]));
  double mean = 0.0;
  for (double a : absmax) mean += a / static_cast<double>(blocks);
  size_t differing = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    double deviation = 0.0;  // of the nested block of 256 absmax values
    for (size_t b = i / 64 / 256 * 256; b < std::min(blocks, (i / 64 / 256 + 1) * 256); ++b)
      deviation = std::max(deviation, std::fabs(absmax[b] - mean));
    const double nf4 = (1.0 - 0.6961928009986877) / 2 * absmax[i / 64];
    const double eps = 1e-6 * (absmax[i / 64] + deviation + mean);
    ASSERT_LE(std::fabs(w_plain[i] - w[i]), nf4 + eps) << "element " << i;
    ASSERT_LE(std::fabs(w_dq[i] - w[i]), nf4 + 0.00703125 * deviation + eps) << "element " << i;
    differing += w_dq[i] != w_plain[i] ? 1 : 0;
  }
  EXPECT_GT(differing, w.size() / 2) << "double quantization changed almost no weight";
}

TEST(Nf4Plugin, MatmulIsXTimesTheDequantizedWeight) {
  const int64_t rows = 40, cols = 96;  // blocks of 64 span rows
  Nf4Session session;
  const lmf_quantized_layer* layer = nullptr;
  ASSERT_TRUE(session.quantize("l", rows, cols, trained_like(rows, cols, 6), &layer).ok());
  const std::vector<float> w_hat = session.dequantize(layer);
  for (int64_t tokens : {1, 3}) {
    const std::vector<float> x = gaussian(static_cast<size_t>(tokens * cols), 1.0f, 7);
    const std::vector<float> y = session.matmul(layer, x, tokens);
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t o = 0; o < rows; ++o) {
        double exact = 0.0, magnitude = 0.0;
        for (int64_t i = 0; i < cols; ++i) {
          const double term = static_cast<double>(x[static_cast<size_t>(t * cols + i)]) *
                              w_hat[static_cast<size_t>(o * cols + i)];
          exact += term;
          magnitude += std::fabs(term);
        }
        EXPECT_NEAR(y[static_cast<size_t>(t * rows + o)], exact, 1e-5 * magnitude + 1e-30)
            << "tokens " << tokens << " y[" << t << ", " << o << "]";
      }
  }
}

TEST(Nf4Plugin, ImportedLayerComputesExactlyWhatTheOriginalDoes) {
  Nf4Session session;
  const lmf_quantized_layer* original = nullptr;
  ASSERT_TRUE(session.quantize("l", 32, 128, trained_like(32, 128, 8), &original).ok());
  ExportedTensors tensors = export_tensors(*original);
  const lmf_quantized_layer* imported = nullptr;
  ASSERT_TRUE(session.import(tensors, format_of(*original), &imported).ok());
  for (HostTensor& t : tensors.tensors) t.fill_bytes(0x5a);  // borrowed for the call only
  EXPECT_EQ(session.dequantize(imported), session.dequantize(original));
  const std::vector<float> x = gaussian(128, 1.0f, 9);
  EXPECT_EQ(session.matmul(imported, x, 1), session.matmul(original, x, 1));
}

TEST(Nf4Plugin, ImportTakesBitsandbytesFlatWeightAndScalarOffset) {
  // bitsandbytes' tensors may come as weight [n / 2] and a 0-dim offset.
  Nf4Session session;
  const lmf_quantized_layer* original = nullptr;
  ASSERT_TRUE(session.quantize("l", 8, 64, gaussian(512, 0.02f, 10), &original).ok());
  ExportedTensors tensors = export_tensors(*original);
  HostTensor flat(tensors.at("weight").dl().dtype, {256});
  std::memcpy(flat.data<char>(), tensors.at("weight").data<char>(), 256);
  HostTensor scalar(conformance::float32_type(), {});
  *scalar.data<float>() = *tensors.at("nested_offset").data<float>();
  tensors.remove("weight");
  tensors.remove("nested_offset");
  tensors.add("weight", std::move(flat));
  tensors.add("nested_offset", std::move(scalar));
  const lmf_quantized_layer* imported = nullptr;
  const Outcome outcome = session.import(tensors, format_of(*original), &imported);
  ASSERT_TRUE(outcome.ok()) << outcome.message;
  EXPECT_EQ(session.dequantize(imported), session.dequantize(original));
}

TEST(Nf4Plugin, QuantizeRefusesWeightsNamingTheLayer) {
  Nf4Session session;
  const lmf_quantized_layer* layer = nullptr;
  Outcome outcome =
      session.quantize("model.layers.0.mlp", 3, 37, std::vector<float>(111, 0.1f), &layer);
  EXPECT_EQ(outcome.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(layer, nullptr);
  for (const char* part :
       {"layer \"model.layers.0.mlp\"", "[3, 37]", "111 elements", "block_size 64"})
    EXPECT_TRUE(mentions(outcome.message, part)) << part << " not in: " << outcome.message;

  std::vector<float> w(2 * 64, 0.1f);
  w[64 + 5] = std::numeric_limits<float>::quiet_NaN();
  outcome = session.quantize("q_proj", 2, 64, w, &layer);
  EXPECT_EQ(outcome.code, LMF_ERR_INVALID_ARGUMENT);
  for (const char* part : {"layer \"q_proj\"", "[1, 5]", "NaN"})
    EXPECT_TRUE(mentions(outcome.message, part)) << part << " not in: " << outcome.message;
  w[64 + 5] = -std::numeric_limits<float>::infinity();
  outcome = session.quantize("q_proj", 2, 64, w, &layer);
  EXPECT_TRUE(mentions(outcome.message, "[1, 5] is infinite")) << outcome.message;
}

class Nf4Import : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(session_.quantize("l", 16, 64, gaussian(16 * 64, 0.02f, 11), &original_).ok());
    tensors_ = export_tensors(*original_);
    format_ = format_of(*original_);
  }
  // The refusal's message, after checking that it is one.
  std::string refusal() {
    const lmf_quantized_layer* layer = nullptr;
    const Outcome outcome = session_.import(tensors_, format_, &layer);
    EXPECT_EQ(outcome.code, LMF_ERR_INVALID_ARGUMENT);
    EXPECT_EQ(layer, nullptr);
    return outcome.message;
  }

  Nf4Session session_;
  const lmf_quantized_layer* original_ = nullptr;
  ExportedTensors tensors_;
  json format_;
};

TEST_F(Nf4Import, MissingTensorIsNamed) {
  tensors_.remove("nested_absmax");
  const std::string message = refusal();
  EXPECT_TRUE(mentions(message, "\"nested_absmax\" is missing")) << message;
}

TEST_F(Nf4Import, UnknownTensorIsNamed) {
  tensors_.add("qweight", HostTensor(conformance::float32_type(), {1}));
  const std::string message = refusal();
  EXPECT_TRUE(mentions(message, "\"qweight\"")) << message;
}

TEST_F(Nf4Import, AQuantMapOtherThanNf4IsRefused) {
  tensors_.at("quant_map").data<float>()[3] = -0.4f;
  const std::string message = refusal();
  EXPECT_TRUE(mentions(message, "quant_map")) << message;
  EXPECT_TRUE(mentions(message, "entry 3")) << message;
}

TEST_F(Nf4Import, WrongShapeOrDtypeIsNamed) {
  HostTensor short_absmax(tensors_.at("absmax").dl().dtype, {15});
  tensors_.remove("absmax");
  tensors_.add("absmax", std::move(short_absmax));
  std::string message = refusal();
  EXPECT_TRUE(mentions(message, "\"absmax\" has shape [15], expected [16]")) << message;

  tensors_.remove("absmax");
  tensors_.add("absmax", HostTensor(conformance::float32_type(), {16}));
  message = refusal();
  EXPECT_TRUE(mentions(message, "\"absmax\" has dtype float32, expected uint8")) << message;
}

TEST_F(Nf4Import, FormatFieldsBitsandbytesCannotHaveAreNamed) {
  format_["blocksize"] = 48;
  format_["group_size"] = 48;
  std::string message = refusal();
  EXPECT_TRUE(mentions(message, "block size 48")) << message;

  format_ = format_of(*original_);
  format_["shape"] = {3, 37};
  message = refusal();
  EXPECT_TRUE(mentions(message, "not a multiple of the block size 64")) << message;

  format_ = format_of(*original_);
  format_.erase("double_quant");
  message = refusal();
  EXPECT_TRUE(mentions(message, "\"double_quant\"")) << message;
}

}  // namespace
}  // namespace lmf::quant::nf4::testing
