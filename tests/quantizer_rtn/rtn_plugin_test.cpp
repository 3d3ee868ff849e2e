// The rtn plugin through the ABI: its schema and capabilities, grids worked out by hand for
// each bit width (Note [GPTQ grid]), the GPTQ tensors it writes, import_layer, refusals.
#include "plugins/quantizer/common/gptq_kernels_cuda.h"
#include "plugins/quantizer/common/gptq_layout.h"
#include "tests/quantizer_rtn/quantizer_session.h"
#include "tests/quantizer_rtn/test_layers.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace {

using lmf::quant::testing::format_of;
using lmf::quant::testing::HostTensor;
using lmf::quant::testing::layer_tensor;
using lmf::quant::testing::Outcome;
using lmf::quant::testing::RtnSession;
using lmf::testing::Contains;
using nlohmann::json;

// `row` followed by copies scaled by 2^-1, 2^-2, ...: powers of two keep every scale exact
// in fp16, so each row's expected values are the first row's scaled alike.
std::vector<float> halving_rows(const std::vector<float>& row, int64_t rows) {
  std::vector<float> values;
  for (int64_t r = 0; r < rows; ++r)
    for (float v : row) values.push_back(std::ldexp(v, -static_cast<int>(r)));
  return values;
}

// `row` then zero rows up to `rows`.
std::vector<float> padded(const std::vector<float>& row, int64_t cols, int64_t rows) {
  std::vector<float> values(static_cast<size_t>(rows * cols), 0.0f);
  std::copy(row.begin(), row.end(), values.begin());
  return values;
}

std::vector<float> dequantized(RtnSession& rtn, int64_t rows, int64_t cols,
                               const std::vector<float>& values) {
  const lmf_quantized_layer* layer = nullptr;
  const Outcome outcome = rtn.quantize("model.layers.0.q_proj", rows, cols, values, &layer);
  EXPECT_TRUE(outcome.ok) << outcome.message;
  return layer ? rtn.dequantize(layer) : std::vector<float>();
}

template <class T>
std::vector<T> tensor_values(const DLTensor& tensor) {
  int64_t count = 1;
  for (int i = 0; i < tensor.ndim; ++i) count *= tensor.shape[i];
  const T* data =
      reinterpret_cast<const T*>(static_cast<const char*>(tensor.data) + tensor.byte_offset);
  return std::vector<T>(data, data + count);
}

TEST(RtnPlugin, SchemaFillsDefaultsAndRefusesWhatTheLayoutCannotStore) {
  RtnSession rtn;
  const json schema = json::parse(rtn.ref().schema());
  json config = json::object();
  EXPECT_TRUE(lmf::config::validate(schema, config).empty());
  EXPECT_EQ(config, json({{"bits", 4}, {"group_size", 128}, {"sym", true}}));
  for (json bad :
       {json{{"bits", 5}}, json{{"bits", 16}}, json{{"bits", "4"}}, json{{"group_size", 0}},
        json{{"group_size", -2}}, json{{"sym", 1}}, json{{"block_size", 64}}})
    EXPECT_FALSE(lmf::config::validate(schema, bad).empty()) << bad.dump() << " was accepted";
}

TEST(RtnPlugin, CapabilitiesAreTheConfiguredGrid) {
  json expected = json::parse(R"({"formats":["gptq"],"bits":[4],
    "group_sizes":[128],"symmetric":[true],"needs_calibration":false,"devices":["cpu"],
    "ops":["dequantize","matmul","import_layer"],"matmul_tokens":8})");
  if (lmf::quant::gptq_cuda_kernels_compiled()) expected["devices"].push_back("cuda");
  EXPECT_EQ(RtnSession().capabilities(), expected);
  const json caps =
      RtnSession(json{{"bits", 3}, {"group_size", -1}, {"sym", false}}).capabilities();
  EXPECT_EQ(caps.at("bits"), json::array({3}));
  EXPECT_EQ(caps.at("group_sizes"), json::array({-1}));
  EXPECT_EQ(caps.at("symmetric"), json::array({false}));
}

TEST(RtnPlugin, CreateRefusesAConfigTheSchemaWouldHaveRefused) {
  RtnSession rtn;  // loads the plugin
  try {
    lmf::plugin::ComponentInstance bad(rtn.ref(),
                                       json{{"bits", 5}, {"group_size", 128}, {"sym", true}});
    FAIL() << "bits 5 was accepted";
  } catch (const std::exception& e) {
    EXPECT_TRUE(
        Contains(e.what(), "config \"bits\" is 5, but rtn's GPTQ layout stores 2, 3, 4 or 8 bits"));
  }
}

// max|w| = 7.5 gives scale 2·7.5/15 = 1 and zero 8: codes round(w) + 8 clamped to 0..15,
// ties to even, so 7.5 -> 16 -> 15 (ŵ = 7), -7.5 -> 0 (ŵ = -8), -2.5 -> 6 (ŵ = -2).
TEST(RtnPlugin, FourBitSymmetricGridByHand) {
  RtnSession rtn(json{{"group_size", -1}});
  const std::vector<float> row = {7.5f, -7.5f, 0.4f, 0.6f, -2.5f, 3.5f, 0.0f, -1.2f};
  const std::vector<float> expected_row = {7, -8, 0, 1, -2, 4, 0, -1};
  const lmf_quantized_layer* layer = nullptr;
  const Outcome outcome = rtn.quantize("model.layers.0.q_proj", 8, 8, halving_rows(row, 8), &layer);
  ASSERT_TRUE(outcome.ok) << outcome.message;
  EXPECT_EQ(rtn.dequantize(layer), halving_rows(expected_row, 8));

  EXPECT_EQ(json::parse(format_of(*layer)),
            json::parse(R"({"format":"gptq","method":"rtn","bits":4,"group_size":-1,
                           "sym":true,"desc_act":false})"));
  // codes 15,0,8,9,6,12,8,7 along the input, lowest nibble first, in every column
  const DLTensor* qweight = layer_tensor(*layer, "qweight");
  ASSERT_NE(qweight, nullptr);
  EXPECT_EQ(std::vector<int64_t>(qweight->shape, qweight->shape + 2), (std::vector<int64_t>{1, 8}));
  for (int32_t word : tensor_values<int32_t>(*qweight))
    EXPECT_EQ(static_cast<uint32_t>(word), 0x78c6980fu);
  EXPECT_EQ(tensor_values<int32_t>(*layer_tensor(*layer, "qzeros")),
            std::vector<int32_t>{0x77777777});  // zero 8 stored as 7
  EXPECT_EQ(
      tensor_values<uint16_t>(*layer_tensor(*layer, "scales")),
      (std::vector<uint16_t>{0x3c00, 0x3800, 0x3400, 0x3000, 0x2c00, 0x2800, 0x2400, 0x2000}));
  EXPECT_EQ(layer_tensor(*layer, "scales")->dtype.bits, 16);
  EXPECT_EQ(tensor_values<int32_t>(*layer_tensor(*layer, "g_idx")), std::vector<int32_t>(8, 0));
}

// Asymmetric: lo = min(w, 0) = -1, hi = 14, scale 15/15 = 1, zero round(1/1) = 1.
// The second row has no negative weight: its zero would round to 0, which the v1 layout
// cannot store, so it gets zero 1 and scale hi / 14 = 1 (Note [GPTQ grid]).
TEST(RtnPlugin, FourBitAsymmetricGridByHand) {
  RtnSession rtn(json{{"group_size", -1}, {"sym", false}});
  const std::vector<float> row0 = {-1.0f, 14.0f, 0.0f, 3.5f, 2.5f, 7.0f, -0.4f, 13.6f};
  const std::vector<float> row1 = {0.0f, 14.0f, 3.0f, 1.4f, 2.5f, 5.9f, 0.2f, 13.5f};
  std::vector<float> values = row0;
  values.insert(values.end(), row1.begin(), row1.end());
  values.resize(64, 0.0f);
  const lmf_quantized_layer* layer = nullptr;
  ASSERT_TRUE(rtn.quantize("model.layers.0.k_proj", 8, 8, values, &layer).ok);
  const std::vector<float> got = rtn.dequantize(layer);
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 8),
            (std::vector<float>{-1, 14, 0, 4, 2, 7, 0, 14}));
  EXPECT_EQ(std::vector<float>(got.begin() + 8, got.begin() + 16),
            (std::vector<float>{0, 14, 3, 1, 2, 6, 0, 14}));
  // zero 1 (stored 0) in rows 0 and 1; the zero rows are symmetric-like: -1..1, zero 8
  const uint32_t zeros =
      static_cast<uint32_t>(tensor_values<int32_t>(*layer_tensor(*layer, "qzeros"))[0]);
  EXPECT_EQ(zeros & 0xffu, 0x00u);
  EXPECT_EQ(json::parse(format_of(*layer)).at("sym"), false);
}

TEST(RtnPlugin, GroupsHaveTheirOwnScales) {
  RtnSession rtn(json{{"group_size", 8}});
  std::vector<float> row = {7.5f, -7.5f, 0.4f, 0.6f, -2.5f, 3.5f, 0.0f, -1.2f};
  const std::vector<float> second = {15.0f, -15.0f, 1.0f, 3.0f, -5.0f, 7.0f, 0.9f, -2.9f};
  row.insert(row.end(), second.begin(), second.end());
  const lmf_quantized_layer* layer = nullptr;
  ASSERT_TRUE(rtn.quantize("model.layers.0.v_proj", 8, 16, padded(row, 16, 8), &layer).ok);
  const std::vector<float> got = rtn.dequantize(layer);
  // group 1: scale 2, w/2 = 7.5, -7.5, 0.5, 1.5, -2.5, 3.5, 0.45, -1.45
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 16),
            (std::vector<float>{7, -8, 0, 1, -2, 4, 0, -1, 14, -16, 0, 4, -4, 8, 0, -2}));
  EXPECT_EQ(std::vector<float>(got.begin() + 16, got.end()), std::vector<float>(7 * 16, 0.0f));
  const std::vector<uint16_t> scales = tensor_values<uint16_t>(*layer_tensor(*layer, "scales"));
  ASSERT_EQ(scales.size(), 16u);  // [2 groups, 8 outputs]
  EXPECT_EQ(scales[0], 0x3c00);   // 1
  EXPECT_EQ(scales[8], 0x4000);   // 2
  EXPECT_EQ(scales[1], 0x3044);   // a zero group: AutoGPTQ's -1..1, 2/15 in fp16
  EXPECT_EQ(tensor_values<int32_t>(*layer_tensor(*layer, "g_idx")),
            (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}));
}

// 3 bits: max 3.5 gives scale 1, zero 4, levels -4..3.
TEST(RtnPlugin, ThreeBitGridByHand) {
  RtnSession rtn(json{{"bits", 3}, {"group_size", 32}});
  const std::vector<float> row = {3.5f, -3.5f, 1.5f, -0.5f, 2.6f, 0.0f, 0.5f, -2.5f};
  const std::vector<float> got = dequantized(rtn, 32, 32, padded(row, 32, 32));
  ASSERT_EQ(got.size(), 32u * 32u);
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 8),
            (std::vector<float>{3, -4, 2, 0, 3, 0, 0, -2}));
  EXPECT_EQ(std::vector<float>(got.begin() + 8, got.end()), std::vector<float>(32 * 32 - 8, 0.0f));
}

// 2 bits: max 1.5 gives scale 1, zero 2, levels -2..1.
TEST(RtnPlugin, TwoBitGridByHand) {
  RtnSession rtn(json{{"bits", 2}, {"group_size", 16}});
  const std::vector<float> row = {1.5f, -1.5f, 0.5f, -0.7f, 1.2f};
  const std::vector<float> got = dequantized(rtn, 16, 16, padded(row, 16, 16));
  ASSERT_EQ(got.size(), 16u * 16u);
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 6),
            (std::vector<float>{1, -2, 0, -1, 1, 0}));
}

// 8 bits: max 127.5 gives scale 1, zero 128, levels -128..127.
TEST(RtnPlugin, EightBitGridByHand) {
  RtnSession rtn(json{{"bits", 8}, {"group_size", -1}});
  const std::vector<float> row = {127.5f, -127.5f, 3.5f, -100.2f};
  const std::vector<float> got = dequantized(rtn, 4, 4, padded(row, 4, 4));
  ASSERT_EQ(got.size(), 16u);
  EXPECT_EQ(std::vector<float>(got.begin(), got.begin() + 4),
            (std::vector<float>{127, -128, 4, -100}));
}

TEST(RtnPlugin, MatmulOfOneTokenIsXTimesTheDequantizedWeight) {
  RtnSession rtn;
  const lmf::conformance::Matrix w = lmf::conformance::trained_like_weight(32, 256, 3);
  const lmf_quantized_layer* layer = nullptr;
  ASSERT_TRUE(rtn.quantize("model.layers.1.o_proj", 32, 256, w.values, &layer).ok);
  const std::vector<float> w_hat = rtn.dequantize(layer);
  const lmf::conformance::Matrix x = lmf::conformance::activations(1, 256, 8);
  const std::vector<float> y = rtn.matmul(layer, x.values, 1);
  for (int64_t o = 0; o < 32; ++o) {
    double exact = 0.0, magnitude = 0.0;
    for (int64_t i = 0; i < 256; ++i) {
      exact += static_cast<double>(x.values[static_cast<size_t>(i)]) *
               w_hat[static_cast<size_t>(o * 256 + i)];
      magnitude +=
          std::fabs(x.values[static_cast<size_t>(i)] * w_hat[static_cast<size_t>(o * 256 + i)]);
    }
    EXPECT_NEAR(y[static_cast<size_t>(o)], exact, 2 * 256 * 0x1.0p-24 * magnitude)
        << "output " << o;
  }
}

// --- refusals --------------------------------------------------------------------------

Outcome quantize_outcome(RtnSession& rtn, int64_t rows, int64_t cols, std::vector<float> values) {
  const lmf_quantized_layer* layer = nullptr;
  Outcome outcome = rtn.quantize("model.layers.7.mlp.down_proj", rows, cols, values, &layer);
  EXPECT_EQ(layer, nullptr) << "a failed quantize returned a layer";
  return outcome;
}

TEST(RtnPlugin, AGroupSizeThatDoesNotDivideTheInputIsNamed) {
  RtnSession rtn(json{{"group_size", 48}});
  const Outcome outcome = quantize_outcome(rtn, 8, 64, std::vector<float>(8 * 64, 0.5f));
  EXPECT_EQ(outcome.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(outcome.message, "layer \"model.layers.7.mlp.down_proj\""));
  EXPECT_TRUE(Contains(outcome.message, "group_size 48 does not divide in_features 64"));
}

TEST(RtnPlugin, NaNAndInfiniteWeightsAreNamed) {
  RtnSession rtn;
  std::vector<float> values(8 * 128, 0.25f);
  values[2 * 128 + 3] = std::numeric_limits<float>::quiet_NaN();
  Outcome outcome = quantize_outcome(rtn, 8, 128, values);
  EXPECT_EQ(outcome.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(
      Contains(outcome.message, "layer \"model.layers.7.mlp.down_proj\": weight[2][3] is nan"));
  values[2 * 128 + 3] = -std::numeric_limits<float>::infinity();
  outcome = quantize_outcome(rtn, 8, 128, values);
  EXPECT_TRUE(Contains(outcome.message, "weight[2][3] is -inf"));
}

TEST(RtnPlugin, ExtentsThePackingCannotHoldAreNamed) {
  RtnSession rtn(json{{"group_size", -1}});
  const Outcome outcome = quantize_outcome(rtn, 12, 64, std::vector<float>(12 * 64, 0.5f));
  EXPECT_TRUE(Contains(outcome.message, "layer \"model.layers.7.mlp.down_proj\""));
  EXPECT_TRUE(Contains(outcome.message, "positive multiples of 8; the weight is [12, 64]"));
  RtnSession three_bit(json{{"bits", 3}, {"group_size", -1}});
  EXPECT_TRUE(
      Contains(quantize_outcome(three_bit, 32, 48, std::vector<float>(32 * 48, 0.5f)).message,
               "positive multiples of 32; the weight is [32, 48]"));
}

TEST(RtnPlugin, WeightsBeyondFp16ScalesAreNamed) {
  RtnSession rtn(json{{"group_size", -1}});
  std::vector<float> values(8 * 8, 1.0f);
  values[5 * 8] = 1e6f;
  const Outcome outcome = quantize_outcome(rtn, 8, 8, values);
  EXPECT_TRUE(Contains(outcome.message, "row 5, group 0: the group's scale"));
  EXPECT_TRUE(Contains(outcome.message, "too large for the fp16 scales"));
}

// --- import_layer ----------------------------------------------------------------------

// The four tensors of `packed` as host tensors, as a checkpoint reader hands them over.
struct Exported {
  std::vector<HostTensor> tensors;
  std::vector<std::string> names;
  std::vector<lmf_named_tensor> named() const {
    std::vector<lmf_named_tensor> out;
    for (size_t i = 0; i < tensors.size(); ++i)
      out.push_back({lmf::quant::testing::view_of(names[i]), tensors[i].managed()});
    return out;
  }
  void add(const std::string& name, DLDataType dtype, std::vector<int64_t> shape,
           const void* data) {
    tensors.emplace_back(dtype, shape);
    std::memcpy(tensors.back().data<char>(), data, tensors.back().bytes());
    names.push_back(name);
  }
};

Exported export_tensors(const lmf::quant::GptqTensors& packed) {
  const lmf::quant::GptqShapes shapes =
      lmf::quant::gptq_shapes(packed.bits, packed.out_features, packed.in_features, packed.groups);
  Exported out;
  out.add("qweight", {kDLInt, 32, 1}, shapes.qweight, packed.qweight.data());
  out.add("qzeros", {kDLInt, 32, 1}, shapes.qzeros, packed.qzeros.data());
  out.add("scales", {kDLFloat, 16, 1}, shapes.scales, packed.scales.data());
  out.add("g_idx", {kDLInt, 32, 1}, shapes.g_idx, packed.g_idx.data());
  return out;
}

std::string format_json(int bits, int64_t group_size, bool desc_act) {
  return json{{"format", "gptq"},
              {"bits", bits},
              {"group_size", group_size},
              {"sym", false},
              {"desc_act", desc_act}}
      .dump();
}

TEST(RtnPlugin, ImportsAnyGptqLayerIncludingActOrderAndThreeBits) {
  RtnSession rtn;  // a 4-bit g128 instance reads 3-bit act-order layers too
  for (auto [bits, act_order] : {std::pair{3, true}, std::pair{4, true}, std::pair{2, false}}) {
    const auto codes = lmf::quant::testing::random_codes(bits, 64, 128, 32, act_order, 11);
    const Exported exported = export_tensors(lmf::quant::pack_gptq(codes));
    const lmf_quantized_layer* layer = nullptr;
    const Outcome outcome =
        rtn.import_layer(exported.named(), format_json(bits, 32, act_order), &layer);
    ASSERT_TRUE(outcome.ok) << outcome.message;
    EXPECT_EQ(layer->out_features, 64);
    EXPECT_EQ(layer->in_features, 128);
    EXPECT_EQ(rtn.dequantize(layer), lmf::quant::testing::reference_weight(codes))
        << bits << " bits";
  }
}

TEST(RtnPlugin, ImportWithoutGIdxUsesTheSequentialGroups) {
  RtnSession rtn;
  const auto codes = lmf::quant::testing::random_codes(4, 16, 64, 16, false, 3);
  Exported exported = export_tensors(lmf::quant::pack_gptq(codes));
  exported.tensors.pop_back();
  exported.names.pop_back();
  const lmf_quantized_layer* layer = nullptr;
  ASSERT_TRUE(rtn.import_layer(exported.named(), format_json(4, 16, false), &layer).ok);
  EXPECT_EQ(rtn.dequantize(layer), lmf::quant::testing::reference_weight(codes));
  EXPECT_FALSE(rtn.import_layer(exported.named(), format_json(4, 16, true), &layer).ok);
}

TEST(RtnPlugin, ImportRefusalsNameTheTensorAndTheShapes) {
  RtnSession rtn;
  const lmf::quant::GptqTensors packed =
      lmf::quant::pack_gptq(lmf::quant::testing::random_codes(4, 16, 64, 16, false, 3));
  const Exported good = export_tensors(packed);
  auto refusal = [&](const std::vector<lmf_named_tensor>& tensors, const std::string& format) {
    const lmf_quantized_layer* layer = nullptr;
    const Outcome outcome = rtn.import_layer(tensors, format, &layer);
    EXPECT_EQ(layer, nullptr);
    EXPECT_EQ(outcome.code, LMF_ERR_INVALID_ARGUMENT) << outcome.message;
    return outcome.message;
  };
  const std::string format = format_json(4, 16, false);

  // scales for 3 groups where group_size 16 of in 64 makes 4
  Exported wrong_scales = export_tensors(packed);
  const std::vector<uint16_t> three_groups(3 * 16, 0x3c00);
  wrong_scales.tensors[2] = HostTensor({kDLFloat, 16, 1}, {3, 16});
  std::memcpy(wrong_scales.tensors[2].data<char>(), three_groups.data(),
              wrong_scales.tensors[2].bytes());
  EXPECT_TRUE(Contains(refusal(wrong_scales.named(), format),
                       "import_layer: tensor \"scales\": expected shape [4, 16], got [3, 16]"));

  Exported float_scales = export_tensors(packed);
  float_scales.tensors[2] = HostTensor({kDLFloat, 32, 1}, {4, 16});
  EXPECT_TRUE(Contains(refusal(float_scales.named(), format),
                       "tensor \"scales\": expected float16, got float32"));

  std::vector<lmf_named_tensor> no_qzeros = good.named();
  no_qzeros.erase(no_qzeros.begin() + 1);
  EXPECT_TRUE(Contains(refusal(no_qzeros, format), "tensor \"qzeros\" is missing"));

  Exported with_bias = export_tensors(packed);
  with_bias.add("bias", {kDLFloat, 16, 1}, {16}, three_groups.data());
  EXPECT_TRUE(Contains(refusal(with_bias.named(), format), "unexpected tensor \"bias\""));

  EXPECT_TRUE(Contains(refusal(good.named(), format_json(4, 24, false)),
                       "group_size 24 does not divide in_features 64"));
  EXPECT_TRUE(Contains(refusal(good.named(), format_json(5, 16, false)), "\"bits\" is 5"));
  json v2 = json::parse(format);
  v2["checkpoint_format"] = "gptq_v2";
  EXPECT_TRUE(Contains(refusal(good.named(), v2.dump()), "\"checkpoint_format\" is \"gptq_v2\""));
  json awq = json::parse(format);
  awq["format"] = "awq";
  EXPECT_TRUE(
      Contains(refusal(good.named(), awq.dump()), "\"format\" must be \"gptq\", got \"awq\""));
  // 3-bit rows come in threes: 8 rows of qweight cannot be 3-bit
  EXPECT_TRUE(Contains(refusal(good.named(), format_json(3, -1, false)),
                       "tensor \"qweight\" is [8, 16], expected [a positive multiple of 3"));
}

}  // namespace
