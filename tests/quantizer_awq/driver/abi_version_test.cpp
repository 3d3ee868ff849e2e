// search_input_scales came with ABI 1.1: a quantizer built against 1.0 (its vtable ends at
// release_layer) still loads, and the driver folds nothing for it, whatever its capabilities
// say (Note [AWQ scale folding], docs/plugin-abi.md "Input scales").
#include "driver_support.h"
#include "quantize/quantizer_client.h"

#include <lmf/sdk/error.h>

namespace lmf::torch_backend::testing {
namespace {

TEST_F(DriverTest, AQuantizerBuiltAgainstAbi10LoadsAndFoldsNothing) {
  registry_.load_file(LMF_QUANTIZER_1_0_PLUGIN);
  QuantizerClient client("quantizer_1_0", nlohmann::json::object());
  EXPECT_TRUE(client.supports("search_input_scales")) << "the fixture's capabilities claim it";
  EXPECT_FALSE(client.folds_input_scales()) << "its vtable ends before the slot";
  try {
    client.search_input_scales({"a"}, {torch::ones({8, 8})});
    FAIL() << "the absent slot was called";
  } catch (const sdk::Error& e) {
    EXPECT_EQ(e.code(), LMF_ERR_UNSUPPORTED);
  }

  // The awq plugin, built against 1.1, has it.
  QuantizerClient awq("awq", nlohmann::json::object());
  EXPECT_TRUE(awq.folds_input_scales());
  QuantizerClient rtn("rtn", nlohmann::json::object());
  EXPECT_FALSE(rtn.folds_input_scales()) << "the SDK fills the slot, rtn does not claim it";
}

}  // namespace
}  // namespace lmf::torch_backend::testing
