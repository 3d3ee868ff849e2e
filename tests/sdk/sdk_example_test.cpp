// The SDK's example plugin, sdk/examples/int8_rtn, as the host sees it: its descriptor, its
// schema, and its pipeline stage (what configs/quickstart.json shows). Its quantizer ops
// are checked by the quantizer conformance suite.
#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "tests/support/recording_services.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace {

using lmf::plugin::ComponentInstance;
using lmf::plugin::ComponentRef;
using lmf::plugin::PluginError;
using nlohmann::json;

class SdkExample : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.load_file(LMF_EXAMPLE_INT8_RTN_PLUGIN);
    ref_ = registry_.require(LMF_KIND_QUANTIZER, "int8_rtn");
  }
  // An instance made from `config` after validation, as the host makes it.
  ComponentInstance make(json config = json::object()) {
    auto issues = lmf::config::validate(json::parse(ref_.schema()), config);
    EXPECT_TRUE(issues.empty()) << config.dump();
    return ComponentInstance(ref_, config);
  }
  static json stage(json params) {
    return {{"name", "demo"}, {"kind", "quantizer"}, {"component", "int8_rtn"}, {"params", params}};
  }

  lmf::testing::RecordingServices services_;
  lmf::plugin::PluginRegistry registry_{services_};
  ComponentRef ref_;
};

TEST_F(SdkExample, DescribesItself) {
  const lmf::plugin::LoadedPlugin& plugin = *ref_.plugin;
  EXPECT_EQ(plugin.name(), "lmforge-example-int8-rtn");
  EXPECT_EQ(plugin.vendor(), "lmforge examples");
  EXPECT_EQ(registry_.components_of(plugin).size(), 1u);
}

TEST_F(SdkExample, SchemaFillsTheDefaultAndRefusesBadClipRatios) {
  const json schema = json::parse(ref_.schema());
  EXPECT_EQ(schema.at("additionalProperties"), false);
  json config = json::object();
  EXPECT_TRUE(lmf::config::validate(schema, config).empty());
  EXPECT_EQ(config, json({{"clip_ratio", 1.0}}));
  for (json bad : {json{{"clip_ratio", 0}}, json{{"clip_ratio", 1.5}}, json{{"clip_ratio", "1"}},
                   json{{"clip_rate", 0.9}}}) {
    auto issues = lmf::config::validate(schema, bad);
    EXPECT_FALSE(issues.empty()) << bad.dump() << " was accepted";
  }
}

TEST_F(SdkExample, CapabilitiesAreExactlyTheDocumentedOnes) {
  ComponentInstance instance = make();
  const auto& vtable = instance.vtable<lmf_quantizer_vtable>(LMF_KIND_QUANTIZER);
  lmf_string text{nullptr, 0};
  ASSERT_EQ(vtable.capabilities(instance.get(), &text), nullptr);
  const json caps = json::parse(text.data, text.data + text.size);
  lmf::plugin::host_api()->free(text.data);
  EXPECT_EQ(caps, json::parse(R"({"formats":["int8_rtn"],"bits":[8],"group_sizes":[-1],
    "symmetric":[true],"needs_calibration":false,"devices":["cpu"],
    "ops":["dequantize","matmul","import_layer"]})"));
}

TEST_F(SdkExample, StageReportsErrorAndSizes) {
  ComponentInstance instance = make();
  ASSERT_TRUE(instance.runs_as_stage());
  const json summary = instance.run_stage(stage({{"rows", 64}, {"cols", 128}, {"seed", 3}}));
  EXPECT_EQ(summary.at("rows"), 64);
  EXPECT_EQ(summary.at("cols"), 128);
  EXPECT_EQ(summary.at("bytes_fp32"), 64 * 128 * 4);
  EXPECT_EQ(summary.at("bytes_packed"), 64 * 128 + 64 * 4);
  // Uniform weights in [-1, 1): at most half a step, max|w| / 254; ~0.39% relative.
  EXPECT_GT(summary.at("max_abs_error").get<double>(), 0.0);
  EXPECT_LE(summary.at("max_abs_error").get<double>(), 1.0 / 254 * (1 + 1e-5));
  EXPECT_NEAR(summary.at("relative_error").get<double>(), 0.0039, 0.0005);
  EXPECT_TRUE(services_.logged("relative error"));
}

TEST_F(SdkExample, StageIsReproducibleAndHasDefaults) {
  ComponentInstance instance = make();
  const json params = {{"rows", 16}, {"cols", 40}, {"seed", 9}};
  EXPECT_EQ(instance.run_stage(stage(params)), instance.run_stage(stage(params)));
  EXPECT_NE(instance.run_stage(stage(params)),
            instance.run_stage(stage({{"rows", 16}, {"cols", 40}, {"seed", 10}})));
  const json defaults = instance.run_stage(stage(json::object()));
  EXPECT_EQ(defaults.at("rows"), 256);
  EXPECT_EQ(defaults.at("cols"), 1024);
}

TEST_F(SdkExample, ClippingTradesLargeErrorsForSmallOnes) {
  const json params = {{"rows", 32}, {"cols", 256}, {"seed", 1}};
  const json full = make().run_stage(stage(params));
  const json clipped = make({{"clip_ratio", 0.5}}).run_stage(stage(params));
  // Half the range clipped: weights beyond 0.5 * max|w| lose up to half their value.
  EXPECT_GT(clipped.at("max_abs_error").get<double>(), 0.4);
  EXPECT_GT(clipped.at("relative_error"), full.at("relative_error"));
}

TEST_F(SdkExample, BadStageParamsNameTheField) {
  ComponentInstance instance = make();
  for (const auto& [params, field] :
       {std::pair{json{{"rows", 0}}, "params.rows"}, std::pair{json{{"cols", "8"}}, "params.cols"},
        std::pair{json{{"seed", 1.5}}, "params.seed"}}) {
    try {
      instance.run_stage(stage(params));
      ADD_FAILURE() << params.dump() << " was accepted";
    } catch (const PluginError& e) {
      EXPECT_EQ(e.code(), LMF_ERR_INVALID_ARGUMENT);
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  }
}

}  // namespace
