// The gptq plugin as the host sees it: its schema and capabilities, observe then quantize
// through the C vtable, the layer's format and packed tensors, and its refusals. (The
// quantizer conformance suite checks the rest: bounds, matmul, import round trips.)
#include "gptq_solver.h"
#include "hessian_accumulator.h"
#include "tests/quantizer_gptq/gptq_test_support.h"
#include "tests/support/quantizer_plugin_fixture.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <limits>
#include <memory>
#include <string>

namespace {

using lmf::plugin::ComponentInstance;
using lmf::testing::message_of;
using nlohmann::json;
using namespace lmf::quant::gptq::testing;

class GptqPlugin : public lmf::testing::QuantizerPluginTest {
 protected:
  void SetUp() override { load(LMF_GPTQ_PLUGIN, "gptq"); }
};

TEST_F(GptqPlugin, SchemaFillsTheDefaultsAndRefusesWhatGptqCannotDo) {
  EXPECT_EQ(ref_.plugin->name(), "lmforge-quantizer-gptq");
  const json schema = json::parse(ref_.schema());
  json config = json::object();
  EXPECT_TRUE(lmf::config::validate(schema, config).empty());
  EXPECT_EQ(config, json::parse(R"({"bits":4,"group_size":128,"sym":true,"desc_act":false,
    "static_groups":false,"damp_percent":0.01,"block_size":128})"));
  for (json bad : {json{{"bits", 5}}, json{{"group_size", 0}}, json{{"group_size", -2}},
                   json{{"damp_percent", 0}}, json{{"damp_percent", 1.5}}, json{{"block_size", 0}},
                   json{{"true_sequential", true}}}) {
    EXPECT_FALSE(lmf::config::validate(schema, bad).empty()) << bad.dump() << " was accepted";
  }
}

TEST_F(GptqPlugin, CapabilitiesClaimCalibrationTheGptqFormatAndItsOps) {
  create({{"group_size", 48}});
  lmf_string text{nullptr, 0};
  ASSERT_EQ(message_of(vtable_->capabilities(instance_->get(), &text)), "");
  const json caps = json::parse(text.data, text.data + text.size);
  lmf::plugin::host_api()->free(text.data);
  EXPECT_EQ(caps.at("needs_calibration"), true);
  EXPECT_EQ(caps.at("formats"), json({"gptq"}));
  EXPECT_EQ(caps.at("bits"), json({2, 3, 4, 8}));
  EXPECT_EQ(caps.at("ops"), json({"dequantize", "matmul", "import_layer"}));
  EXPECT_NE(std::find(caps.at("group_sizes").begin(), caps.at("group_sizes").end(), 48),
            caps.at("group_sizes").end())
      << "the configured group size is among the claims: " << caps.dump();
}

// observe in two calls, quantize: the layer holds what the solver makes of the same
// Hessian, in the GPTQ layout, and its output error on the calibration inputs is below RTN's.
TEST_F(GptqPlugin, ObserveThenQuantizeGivesTheSolversLayerInTheGptqLayout) {
  create({{"desc_act", true}, {"group_size", 64}});
  const torch::Tensor x = correlated_inputs(512, 256, 21), w = gaussian_weight(64, 256, 21);
  ASSERT_EQ(observe("blk.0.mlp.up_proj", x.slice(0, 0, 200)), "");
  ASSERT_EQ(observe("blk.0.mlp.up_proj", x.slice(0, 200)), "");
  lmf_quantized_layer* layer = nullptr;
  ASSERT_EQ(quantize("blk.0.mlp.up_proj", w, &layer), "");

  EXPECT_EQ(json::parse(std::string(layer->format_json.data, layer->format_json.size)),
            json::parse(R"({"format":"gptq","method":"gptq","bits":4,"group_size":64,"sym":true,
              "desc_act":true,"static_groups":false,"damp_percent":0.01})"));
  EXPECT_EQ(tensor_of(layer, "qweight").sizes(), torch::IntArrayRef({256 * 4 / 32, 64}));
  EXPECT_EQ(tensor_of(layer, "scales").sizes(), torch::IntArrayRef({4, 64}));

  lmf::quant::gptq::HessianAccumulator h("direct");
  h.add(x.slice(0, 0, 200));
  h.add(x.slice(0, 200));
  lmf::quant::gptq::GptqOptions o;
  o.group_size = 64, o.desc_act = true;
  const lmf::quant::QuantizedCodes direct =
      lmf::quant::gptq::gptq_quantize(w, h.hessian(), o, "direct").codes;
  const torch::Tensor w_hat = dequantize_layer(layer);
  EXPECT_TRUE(torch::allclose(w_hat.to(torch::kFloat64), dequantize(direct), 0, 1e-7));
  EXPECT_TRUE(torch::equal(tensor_of(layer, "g_idx"), torch::tensor(direct.g_idx)));
  EXPECT_LT(output_error(x, w, w_hat),
            output_error(x, w, dequantize(round_to_nearest(w, 4, 64, true))));
  EXPECT_FALSE(services_.logged("calibration rows")) << "512 rows for 256 inputs is enough";
}

TEST_F(GptqPlugin, QuantizeWithoutObserveIsAnErrorNamingTheLayer) {
  create();
  lmf_quantized_layer* layer = nullptr;
  EXPECT_EQ(quantize("blk.4.self_attn.q_proj", gaussian_weight(32, 128, 1), &layer),
            "layer \"blk.4.self_attn.q_proj\": no calibration inputs: call observe first");
  EXPECT_EQ(layer, nullptr);

  // A layer's statistics are used up by its quantize.
  ASSERT_EQ(observe("blk.4.self_attn.q_proj", correlated_inputs(256, 128, 1)), "");
  ASSERT_EQ(quantize("blk.4.self_attn.q_proj", gaussian_weight(32, 128, 1), &layer), "");
  EXPECT_NE(quantize("blk.4.self_attn.q_proj", gaussian_weight(32, 128, 1), &layer)
                .find("no calibration inputs"),
            std::string::npos);
}

TEST_F(GptqPlugin, NaNInputsOrWeightsAreNamedAndLeaveTheStatisticsAlone) {
  create();
  torch::Tensor x = correlated_inputs(256, 128, 2);
  ASSERT_EQ(observe("blk.1.o_proj", x.slice(0, 0, 128)), "");
  torch::Tensor bad = x.slice(0, 128).clone();
  bad[7][3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(observe("blk.1.o_proj", bad),
            "calibration inputs of layer \"blk.1.o_proj\" holds NaN at [7, 3]");

  torch::Tensor w = gaussian_weight(32, 128, 2);
  w[1][100] = std::numeric_limits<float>::infinity();
  lmf_quantized_layer* layer = nullptr;
  EXPECT_EQ(quantize("blk.1.o_proj", w, &layer),
            "weight of layer \"blk.1.o_proj\" holds Inf at [1, 100]");
  EXPECT_EQ(layer, nullptr);
  // The refused calls changed nothing: the 128 good rows still quantize the layer.
  ASSERT_EQ(quantize("blk.1.o_proj", gaussian_weight(32, 128, 2), &layer), "");
  EXPECT_NE(layer, nullptr);
}

TEST_F(GptqPlugin, ShapesTheLayoutCannotHoldAreRefusedBeforeTheSolverRuns) {
  create({{"bits", 3}, {"group_size", 64}});
  ASSERT_EQ(observe("blk.2.down_proj", correlated_inputs(256, 96, 3)), "");
  lmf_quantized_layer* layer = nullptr;
  EXPECT_EQ(quantize("blk.2.down_proj", gaussian_weight(32, 96, 3), &layer),
            "layer \"blk.2.down_proj\": group_size 64 does not divide in_features 96 (choose a "
            "divisor of it, or -1)");

  create({{"bits", 3}, {"group_size", -1}});
  ASSERT_EQ(observe("blk.2.down_proj", correlated_inputs(256, 96, 3)), "");
  const std::string message = quantize("blk.2.down_proj", gaussian_weight(16, 96, 3), &layer);
  EXPECT_NE(message.find("packs 3-bit values in runs of 32"), std::string::npos) << message;
  EXPECT_NE(message.find("[16, 96]"), std::string::npos) << message;
}

TEST_F(GptqPlugin, TooFewCalibrationRowsIsAWarning) {
  create({{"group_size", 32}});
  ASSERT_EQ(observe("blk.0.k_proj", correlated_inputs(40, 128, 4)), "");
  lmf_quantized_layer* layer = nullptr;
  ASSERT_EQ(quantize("blk.0.k_proj", gaussian_weight(32, 128, 4), &layer), "");
  EXPECT_TRUE(
      services_.logged("layer \"blk.0.k_proj\" has 40 calibration rows for 128 input "
                       "features"));
}

}  // namespace
