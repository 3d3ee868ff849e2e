// The quantizer conformance suite: every quantizer plugin, the built-in ones and a
// vendor's, must pass it.
//
// Which quantizers: by default every quantizer in the plugin search path of this
// executable (the build's plugin folder); with LMF_CONFORMANCE_PLUGIN=<file.so>, only the
// quantizers of that one file, which must load and provide at least one.
#include "core/plugin/registry.h"
#include "tests/conformance/quantizer/quantizer_checks.h"
#include "tests/support/recording_services.h"

#include "core/plugin/search_path.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

namespace {

using lmf::conformance::Failures;
using lmf::plugin::ComponentRef;
using lmf::plugin::PluginRegistry;

// The quantizers under test, found once per process.
struct Discovery {
  lmf::testing::RecordingServices services;
  PluginRegistry registry{services};
  std::vector<ComponentRef> quantizers;
  std::string searched;  // where they were looked for, for messages
  std::string problem;   // why LMF_CONFORMANCE_PLUGIN could not be used

  Discovery() {
    if (const char* file = std::getenv("LMF_CONFORMANCE_PLUGIN"); file != nullptr && *file) {
      searched = file;
      try {
        std::shared_ptr<lmf::plugin::LoadedPlugin> plugin = registry.load_file(file);
        for (const ComponentRef& ref : registry.components_of(*plugin))
          if (ref.component->kind == LMF_KIND_QUANTIZER) quantizers.push_back(ref);
        if (quantizers.empty())
          problem = "LMF_CONFORMANCE_PLUGIN=" + searched + ": the plugin provides no quantizer";
      } catch (const std::exception& e) {
        problem = std::string("LMF_CONFORMANCE_PLUGIN: ") + e.what();
      }
      return;
    }
    for (const std::filesystem::path& folder : lmf::plugin::plugin_search_path({}))
      searched += (searched.empty() ? "" : ":") + folder.string();
    registry.load_directories(lmf::plugin::plugin_search_path({}));
    for (const ComponentRef& ref : registry.components())
      if (ref.component->kind == LMF_KIND_QUANTIZER) quantizers.push_back(ref);
  }
};

Discovery& discovery() {
  static Discovery found;
  return found;
}

struct Quantizer {
  ComponentRef ref;
};

// How gtest prints a parameter: `quantizer "int8_rtn" (lmforge-example-int8-rtn, <file>)`.
std::string label(const ComponentRef& ref) {
  return "quantizer \"" + ref.name() + "\" (plugin " + ref.plugin->name() + ", " +
         ref.plugin->file().string() + ")";
}
void PrintTo(const Quantizer& quantizer, std::ostream* out) {
  *out << label(quantizer.ref);
}

std::vector<Quantizer> quantizers() {
  std::vector<Quantizer> out;
  for (const ComponentRef& ref : discovery().quantizers) out.push_back({ref});
  return out;
}

// Reports every failure, each naming the component.
void expect_conforms(const ComponentRef& ref, const Failures& failures) {
  for (const std::string& failure : failures) ADD_FAILURE() << label(ref) << ": " << failure;
  EXPECT_TRUE(failures.empty()) << label(ref) << " failed " << failures.size() << " check(s)";
}

TEST(QuantizerDiscovery, FindsQuantizersToCheck) {
  const Discovery& found = discovery();
  ASSERT_TRUE(found.problem.empty()) << found.problem;
  EXPECT_FALSE(found.quantizers.empty()) << "no quantizer plugin found in " << found.searched;
  for (const lmf::plugin::LoadFailure& refused : found.registry.failures())
    std::cout << "note: plugin refused by the loader (not checked here): " << refused.message
              << "\n";
  for (const ComponentRef& ref : found.quantizers) std::cout << "checking " << label(ref) << "\n";
}

class QuantizerConformance : public ::testing::TestWithParam<Quantizer> {};

TEST_P(QuantizerConformance, CapabilitiesAreWellFormed) {
  expect_conforms(GetParam().ref, lmf::conformance::check_capabilities(GetParam().ref));
}

TEST_P(QuantizerConformance, LayersMeetTheirClaims) {
  expect_conforms(GetParam().ref, lmf::conformance::check_layers(GetParam().ref));
}

TEST_P(QuantizerConformance, WrongInputIsAnErrorStatus) {
  expect_conforms(GetParam().ref, lmf::conformance::check_bad_inputs(GetParam().ref));
}

INSTANTIATE_TEST_SUITE_P(Quantizers, QuantizerConformance, ::testing::ValuesIn(quantizers()),
                         [](const ::testing::TestParamInfo<Quantizer>& param_info) {
                           std::string name = param_info.param.ref.name();
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });
// With LMF_CONFORMANCE_PLUGIN naming a bad file there is nothing to instantiate;
// QuantizerDiscovery reports that.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(QuantizerConformance);

// --- the suite checks itself: a quantizer that claims a capability it lacks fails -------

bool mentions(const Failures& failures, const std::string& text) {
  for (const std::string& failure : failures)
    if (failure.find(text) != std::string::npos) return true;
  return false;
}

std::string joined(const Failures& failures) {
  std::string text;
  for (const std::string& failure : failures) text += "\n  " + failure;
  return text;
}

class LiarQuantizers : public ::testing::Test {
 protected:
  ComponentRef liar(const char* name) {
    registry_.load_file(LMF_CONFORMANCE_LIAR_PLUGIN);
    return registry_.require(LMF_KIND_QUANTIZER, name);
  }

 private:
  lmf::testing::RecordingServices services_;
  PluginRegistry registry_{services_};
};

TEST_F(LiarQuantizers, ClaimingEightBitsButRoundingCoarserFails) {
  const Failures failures = lmf::conformance::check_quantizer(liar("liar_coarse_int8"));
  ASSERT_FALSE(failures.empty()) << "the suite passed a quantizer that rounds to 7 bits";
  EXPECT_TRUE(mentions(failures, "dequantized weight outside the error bound")) << joined(failures);
  // Only the lie is reported: every failure is about the error bound.
  for (const std::string& failure : failures)
    EXPECT_NE(failure.find("bound"), std::string::npos) << failure;
}

TEST_F(LiarQuantizers, ClaimingImportLayerWithoutItFails) {
  const Failures failures = lmf::conformance::check_quantizer(liar("liar_no_import"));
  ASSERT_FALSE(failures.empty()) << "the suite passed a quantizer whose import_layer is missing";
  EXPECT_TRUE(mentions(failures, "import_layer (claimed in ops) failed")) << joined(failures);
  for (const std::string& failure : failures)
    EXPECT_NE(failure.find("import_layer"), std::string::npos) << failure;
}

TEST_F(LiarQuantizers, ClaimingInputScalesWithoutThemFails) {
  const Failures failures = lmf::conformance::check_quantizer(liar("liar_no_scales"));
  ASSERT_FALSE(failures.empty()) << "the suite passed a quantizer whose scale search is missing";
  EXPECT_TRUE(mentions(failures, "search_input_scales (claimed in ops) failed"))
      << joined(failures);
  for (const std::string& failure : failures)
    EXPECT_NE(failure.find("search_input_scales"), std::string::npos) << failure;
}

}  // namespace
