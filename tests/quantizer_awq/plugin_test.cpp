// The awq plugin as the host sees it: its schema and capabilities, observe, the scale search
// whose scales the backend folds (search_input_scales, since ABI 1.1), quantize in AutoAWQ's
// GEMM layout, import_layer from that layout, and its refusals, each naming the layer. (The
// quantizer conformance suite checks the rest: the grid, matmul, import round trips, the
// scales' effect on the output error.)
#include "awq_clip_search.h"
#include "awq_gemm_layout.h"
#include "awq_grid.h"
#include "awq_scale_search.h"
#include "awq_test_support.h"
#include "tests/support/quantizer_plugin_fixture.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace {

using lmf::plugin::ComponentInstance;
using lmf::quant::awq::testing::mean_output_error;
using lmf::quant::awq::testing::reference_pseudo_quantize;
using lmf::testing::DlView;
using lmf::testing::message_of;
using nlohmann::json;

constexpr int64_t kIn = 256, kTokens = 512;
const std::vector<int64_t> kSalient{5, 77, 140, 200};

// Gaussian inputs with uneven channel scales and four channels 50× larger: what AWQ is for.
torch::Tensor salient_inputs(int64_t tokens = kTokens, int64_t in = kIn, uint64_t seed = 1) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({tokens, in}) * torch::exp(torch::rand({in}) * 2 - 1);
  for (int64_t c : kSalient)
    if (c < in) x.select(1, c).mul_(50.0);
  return x;
}

torch::Tensor gaussian_weight(int64_t out, int64_t in, uint64_t seed) {
  torch::manual_seed(seed);
  return torch::randn({out, in}) * 0.02;
}

class AwqPlugin : public lmf::testing::QuantizerPluginTest {
 protected:
  void SetUp() override { load(LMF_AWQ_PLUGIN, "awq"); }

  // The scales for `layers` (weights `weights`); on failure `*error` says why.
  torch::Tensor search(const std::vector<std::string>& layers,
                       const std::vector<torch::Tensor>& weights, std::string* error) {
    std::vector<DlView> views;
    for (const torch::Tensor& w : weights) views.emplace_back(w);
    std::vector<const DLTensor*> pointers;
    std::vector<lmf_str_view> names;
    for (size_t i = 0; i < layers.size(); ++i) {
      pointers.push_back(&views[i].dl);
      names.push_back({layers[i].data(), layers[i].size()});
    }
    DLManagedTensor* out = nullptr;
    *error = message_of(vtable_->search_input_scales(instance_->get(), names.data(),
                                                     pointers.data(), pointers.size(), &out));
    if (out == nullptr) return {};
    const DLTensor& t = out->dl_tensor;
    EXPECT_EQ(t.dtype.code, kDLFloat);
    EXPECT_EQ(t.dtype.bits, 32);
    torch::Tensor scales =
        torch::from_blob(t.data, std::vector<int64_t>(t.shape, t.shape + t.ndim)).clone();
    out->deleter(out);
    return scales;
  }
};

TEST_F(AwqPlugin, SchemaFillsAutoAwqsDefaultsAndRefusesWhatTheLayoutCannotHold) {
  EXPECT_EQ(ref_.plugin->name(), "lmforge-quantizer-awq");
  const json schema = json::parse(ref_.schema());
  json config = json::object();
  EXPECT_TRUE(lmf::config::validate(schema, config).empty());
  EXPECT_EQ(config, json::parse(R"({"bits":4,"group_size":128,"zero_point":true,"scale_grid":20,
    "duo_scaling":true,"max_shrink":0.5,"clip_grid":20,"clip_tokens":512,"min_tokens":32,
    "token_chunk":4096})"));
  for (json bad : {json{{"bits", 3}}, json{{"bits", 8}}, json{{"group_size", 0}},
                   json{{"group_size", -2}}, json{{"max_shrink", 1.0}}, json{{"scale_grid", 0}},
                   json{{"min_tokens", 0}}, json{{"sym", true}}}) {
    EXPECT_FALSE(lmf::config::validate(schema, bad).empty()) << bad.dump() << " was accepted";
  }
  // zero_point false passes the schema (it is AutoAWQ's option) but the GEMM layout has no
  // symmetric form: create says so.
  json symmetric = {{"zero_point", false}};
  ASSERT_TRUE(lmf::config::validate(schema, symmetric).empty());
  try {
    ComponentInstance instance(ref_, symmetric);
    FAIL() << "zero_point false was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("zero_point false"), std::string::npos) << e.what();
  }
}

TEST_F(AwqPlugin, CapabilitiesClaimCalibrationTheAwqFormatAndTheScaleSearch) {
  create({{"group_size", 48}});
  lmf_string text{nullptr, 0};
  ASSERT_EQ(message_of(vtable_->capabilities(instance_->get(), &text)), "");
  const json caps = json::parse(text.data, text.data + text.size);
  lmf::plugin::host_api()->free(text.data);
  EXPECT_EQ(caps.at("needs_calibration"), true);
  EXPECT_EQ(caps.at("formats"), json({"awq"}));
  EXPECT_EQ(caps.at("bits"), json({4}));
  EXPECT_EQ(caps.at("symmetric"), json({false}));
  EXPECT_EQ(caps.at("ops"), json({"dequantize", "matmul", "import_layer", "search_input_scales"}));
  EXPECT_EQ(caps.at("group_sizes"), json({-1, 32, 64, 128, 48}));
  EXPECT_TRUE(LMF_HAS_MEMBER(vtable_, lmf_quantizer_vtable, search_input_scales));
}

// gate and up read one input with four salient channels: the plugin's scales are the
// library's search on what was observed, and quantizing W·s (then dividing by s, as the
// folded model computes) loses far less on those inputs than rounding W does.
TEST_F(AwqPlugin, SearchedScalesFoldedIntoTheWeightsLoseLessThanRounding) {
  create();
  const torch::Tensor x = salient_inputs();
  const torch::Tensor gate = gaussian_weight(64, kIn, 2), up = gaussian_weight(32, kIn, 3);
  const std::string g = "model.layers.0.mlp.gate_proj", u = "model.layers.0.mlp.up_proj";
  for (const std::string& name : {g, u}) {
    ASSERT_EQ(observe(name, x.slice(0, 0, 200)), "");
    ASSERT_EQ(observe(name, x.slice(0, 200)), "");
  }
  std::string error;
  const torch::Tensor s = search({g, u}, {gate, up}, &error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(s.sizes(), torch::IntArrayRef({kIn}));
  lmf::quant::awq::AwqOptions options;
  const auto direct = lmf::quant::awq::search_scales(x, {gate, up}, options, "direct");
  EXPECT_TRUE(torch::equal(s, direct.scales));
  for (int64_t c : kSalient) EXPECT_GT(s[c].item<float>(), s.median().item<float>());

  lmf_quantized_layer* layer = nullptr;
  const torch::Tensor scaled = gate * s.reshape({1, -1});
  ASSERT_EQ(quantize(g, scaled, &layer), "");
  const torch::Tensor w_hat = dequantize_layer(layer);
  // What the layer holds: the clip search on W·s and x/s, then AutoAWQ's grid.
  const auto clip = lmf::quant::awq::search_clip(scaled, x / s.reshape({1, -1}), options, "d");
  const auto grid = lmf::quant::awq::quantize_groups(clip.weight, options,
                                                     lmf::quant::awq::GridRule::kCheckpoint, "d");
  EXPECT_TRUE(torch::equal(w_hat, grid.dequantized));

  const double folded = mean_output_error(x, gate, w_hat / s.reshape({1, -1}));
  const double rounded = mean_output_error(x, gate, reference_pseudo_quantize(gate, 128));
  EXPECT_LT(folded, 0.5 * rounded) << "AWQ " << folded << ", round-to-nearest " << rounded;

  // The layer's inputs are used up; up_proj's are still there and carry the scales too.
  EXPECT_NE(quantize(g, scaled, &layer).find("no calibration inputs"), std::string::npos);
  ASSERT_EQ(quantize(u, up * s.reshape({1, -1}), &layer), "");
}

TEST_F(AwqPlugin, LayersAreInAutoAwqsGemmLayout) {
  create({{"group_size", 64}});
  const std::string name = "model.layers.3.self_attn.o_proj";
  const torch::Tensor x = salient_inputs(), w = gaussian_weight(48, kIn, 4);
  ASSERT_EQ(observe(name, x), "");
  lmf_quantized_layer* layer = nullptr;
  ASSERT_EQ(quantize(name, w, &layer), "");
  EXPECT_EQ(json::parse(std::string(layer->format_json.data, layer->format_json.size)),
            json::parse(R"({"format":"awq","version":"gemm","method":"awq","bits":4,
              "group_size":64,"sym":false,"zero_point":true})"));
  const torch::Tensor qweight = tensor_of(layer, "qweight"), qzeros = tensor_of(layer, "qzeros"),
                      scales = tensor_of(layer, "scales");
  EXPECT_EQ(qweight.sizes(), torch::IntArrayRef({kIn, 48 / 8}));
  EXPECT_EQ(qzeros.sizes(), torch::IntArrayRef({kIn / 64, 48 / 8}));
  EXPECT_EQ(scales.sizes(), torch::IntArrayRef({kIn / 64, 48}));
  EXPECT_EQ(scales.scalar_type(), torch::kFloat16);

  // dequantize is what a loader computes from the three tensors: code c of output o sits in
  // nibble [0, 4, 1, 5, 2, 6, 3, 7][o % 8] of word o / 8 (AutoAWQ's reverse order).
  const int nibble[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  const torch::Tensor w_hat = dequantize_layer(layer);
  const auto q = qweight.accessor<int32_t, 2>();
  const auto z = qzeros.accessor<int32_t, 2>();
  const torch::Tensor s32 = scales.to(torch::kFloat32);
  const auto sc = s32.accessor<float, 2>();
  const auto got = w_hat.accessor<float, 2>();
  for (int64_t o = 0; o < 48; ++o)
    for (int64_t i = 0; i < kIn; ++i) {
      const uint32_t word = static_cast<uint32_t>(q[i][o / 8]);
      const uint32_t zero_word = static_cast<uint32_t>(z[i / 64][o / 8]);
      const int code = static_cast<int>((word >> (4 * nibble[o % 8])) & 0xf);
      const int zero = static_cast<int>((zero_word >> (4 * nibble[o % 8])) & 0xf);
      ASSERT_EQ(got[o][i], sc[i / 64][o] * static_cast<float>(code - zero)) << o << ", " << i;
    }
}

// A layer with fewer input columns than group_size gets one group, as rtn and gptq do.
TEST_F(AwqPlugin, NarrowLayersGetOneGroup) {
  create();
  ASSERT_EQ(observe("narrow", salient_inputs(64, 64)), "");
  lmf_quantized_layer* layer = nullptr;
  ASSERT_EQ(quantize("narrow", gaussian_weight(16, 64, 5), &layer), "");
  EXPECT_EQ(
      json::parse(std::string(layer->format_json.data, layer->format_json.size)).at("group_size"),
      -1);
  EXPECT_EQ(tensor_of(layer, "scales").sizes(), torch::IntArrayRef({1, 16}));
}

TEST_F(AwqPlugin, RefusalsNameTheLayer) {
  create();
  lmf_quantized_layer* layer = nullptr;
  const torch::Tensor w = gaussian_weight(32, 128, 6);
  EXPECT_EQ(quantize("blk.4.mlp.down_proj", w, &layer),
            "layer \"blk.4.mlp.down_proj\": no calibration inputs: call observe first");
  EXPECT_EQ(layer, nullptr);

  // Too few tokens (Note [Too few tokens]).
  ASSERT_EQ(observe("blk.4.mlp.down_proj", salient_inputs(16, 128)), "");
  EXPECT_EQ(quantize("blk.4.mlp.down_proj", w, &layer),
            "layer \"blk.4.mlp.down_proj\": calibration inputs: 16 tokens, AWQ needs at least "
            "min_tokens 32 (Note [Too few tokens])");

  // NaN in inputs, Inf in the weight: the element is named, the statistics stay.
  torch::Tensor bad = salient_inputs(64, 128, 7);
  bad[7][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(observe("blk.1.self_attn.o_proj", bad),
            "layer \"blk.1.self_attn.o_proj\": calibration inputs holds NaN at [7, 3]");
  ASSERT_EQ(observe("blk.1.self_attn.o_proj", salient_inputs(64, 128, 8)), "");
  torch::Tensor infinite = w.clone();
  infinite[1][100] = std::numeric_limits<float>::infinity();
  const std::string inf_message = quantize("blk.1.self_attn.o_proj", infinite, &layer);
  EXPECT_NE(inf_message.find("layer \"blk.1.self_attn.o_proj\""), std::string::npos) << inf_message;
  EXPECT_NE(inf_message.find("Inf at [1, 100]"), std::string::npos) << inf_message;
  ASSERT_EQ(quantize("blk.1.self_attn.o_proj", w, &layer), "");

  // A group size that does not divide in_features.
  create({{"group_size", 48}});
  ASSERT_EQ(observe("blk.2.mlp.up_proj", salient_inputs(64, 128)), "");
  EXPECT_EQ(quantize("blk.2.mlp.up_proj", w, &layer),
            "layer \"blk.2.mlp.up_proj\": group_size 48 does not divide in_features 128");

  // The GEMM layout packs eight outputs per word.
  create();
  ASSERT_EQ(observe("blk.3.mlp.gate_proj", salient_inputs(64, 128)), "");
  const std::string packing = quantize("blk.3.mlp.gate_proj", gaussian_weight(12, 128, 9), &layer);
  EXPECT_NE(packing.find("layer \"blk.3.mlp.gate_proj\""), std::string::npos) << packing;
  EXPECT_NE(packing.find("multiple of 8, got 12"), std::string::npos) << packing;

  // The scale search needs observed layers reading inputs of the weights' width.
  std::string error;
  EXPECT_FALSE(search({"blk.9.mlp.gate_proj"}, {w}, &error).defined());
  EXPECT_EQ(error, "layer \"blk.9.mlp.gate_proj\": no calibration inputs: call observe first");
  ASSERT_EQ(observe("blk.5.mlp.gate_proj", salient_inputs(64, 96)), "");
  EXPECT_FALSE(search({"blk.5.mlp.gate_proj"}, {w}, &error).defined());
  EXPECT_NE(error.find("weights[0] has in_features 128, the calibration inputs 96"),
            std::string::npos)
      << error;
}

// A layer as AutoAWQ writes it (codes packed here by the library from known values) reads
// back through import_layer with config.json's fields, whatever the case of "version".
TEST_F(AwqPlugin, ImportsAutoAwqLayersAndRefusesOtherLayouts) {
  create();
  lmf::quant::QuantizedCodes codes;
  codes.bits = 4, codes.group_size = 32, codes.sym = false;
  codes.out_features = 16, codes.in_features = 64;
  for (int64_t o = 0; o < 16; ++o)
    for (int64_t i = 0; i < 64; ++i) codes.codes.push_back(static_cast<uint8_t>((o * 7 + i) % 16));
  for (int64_t g = 0; g < 2; ++g)
    for (int64_t o = 0; o < 16; ++o) {
      codes.scales.push_back(0.0625f * static_cast<float>(o + 1 + g));
      codes.zeros.push_back(static_cast<int32_t>((o + g) % 16));
    }
  for (int64_t i = 0; i < 64; ++i) codes.g_idx.push_back(static_cast<int32_t>(i / 32));
  const lmf::quant::awq::AwqGemmTensors packed = lmf::quant::awq::pack_awq_gemm(codes, "fixture");
  const torch::Tensor qweight =
      torch::tensor(std::vector<int32_t>(packed.qweight), torch::kInt32).reshape({64, 2});
  const torch::Tensor qzeros =
      torch::tensor(std::vector<int32_t>(packed.qzeros), torch::kInt32).reshape({2, 2});
  std::vector<int16_t> half_bits(packed.scales.begin(), packed.scales.end());
  const torch::Tensor scales =
      torch::tensor(half_bits, torch::kInt16).view(torch::kFloat16).reshape({2, 16});

  lmf_quantized_layer* layer = nullptr;
  const json format = {{"format", "awq"},
                       {"bits", 4},
                       {"group_size", 32},
                       {"zero_point", true},
                       {"version", "GEMM"}};
  ASSERT_EQ(import({{"qweight", qweight}, {"qzeros", qzeros}, {"scales", scales}}, format, &layer),
            "");
  const torch::Tensor w_hat = dequantize_layer(layer);
  for (int64_t o = 0; o < 16; ++o)
    for (int64_t i = 0; i < 64; ++i) {
      const size_t cell = static_cast<size_t>((i / 32) * 16 + o);
      const float want =
          codes.scales[cell] *
          static_cast<float>(codes.codes[static_cast<size_t>(o * 64 + i)] - codes.zeros[cell]);
      ASSERT_EQ(w_hat[o][i].item<float>(), want) << o << ", " << i;
    }

  json gemv = format;
  gemv["version"] = "gemv";
  EXPECT_EQ(import({{"qweight", qweight}, {"qzeros", qzeros}, {"scales", scales}}, gemv, &layer),
            "import_layer: format_json: \"version\" is \"gemv\"; lmforge reads AutoAWQ's \"gemm\" "
            "layout only");
  EXPECT_EQ(import({{"qweight", qweight},
                    {"qzeros", qzeros},
                    {"scales", scales},
                    {"g_idx", torch::zeros({64}, torch::kInt32)}},
                   format, &layer),
            "import_layer: unexpected tensor \"g_idx\" (an AWQ GEMM layer has \"qweight\", "
            "\"qzeros\" and \"scales\")");
  EXPECT_EQ(import({{"qweight", qweight}, {"qzeros", qzeros}, {"scales", scales.slice(0, 0, 1)}},
                   format, &layer),
            "import_layer: tensor \"scales\": expected shape [2, 16], got [1, 16]");
  json three_bits = format;
  three_bits["bits"] = 3;
  EXPECT_NE(
      import({{"qweight", qweight}, {"qzeros", qzeros}, {"scales", scales}}, three_bits, &layer)
          .find("\"bits\" is 3"),
      std::string::npos);
  EXPECT_EQ(layer, nullptr);
}

}  // namespace
