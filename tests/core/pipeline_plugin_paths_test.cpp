// configured_plugin_paths: a relative plugin folder is relative to the file that names it,
// like an include; from the command line, to the working directory.
#include "core/config/compose.h"
#include "core/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#ifndef LMF_TEST_FIXTURES_DIR
#error "LMF_TEST_FIXTURES_DIR must name the absolute path of tests/fixtures"
#endif

namespace lmf::pipeline {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& relative) {
  return fs::path(LMF_TEST_FIXTURES_DIR) / "pipelines" / relative;
}

TEST(PipelinePluginPaths, RelativeToTheIncludedFileThatNamesThem) {
  const config::ComposedConfig composed =
      config::load_config(fixture("plugin_paths/included.json"));
  const fs::path lib = fixture("plugin_paths/lib");
  EXPECT_EQ(configured_plugin_paths(composed),
            (std::vector<fs::path>{(lib / "plugins").lexically_normal(),
                                   (lib / "../shared-plugins").lexically_normal(),
                                   fs::path("/opt/lmforge/plugins")}));
}

TEST(PipelinePluginPaths, TheIncludingFilesOwnListReplacesTheIncludedOne) {
  const config::ComposedConfig composed = config::load_config(fixture("plugin_paths/own.json"));
  EXPECT_EQ(configured_plugin_paths(composed),
            (std::vector<fs::path>{fixture("plugin_paths/here").lexically_normal()}));
}

TEST(PipelinePluginPaths, FromTheCommandLineRelativeToTheWorkingDirectory) {
  config::ComposedConfig composed = config::load_config(fixture("plugin_paths/included.json"));
  config::apply_override(composed, R"(plugin_paths=["mine", "/abs/theirs"])");
  EXPECT_EQ(configured_plugin_paths(composed),
            (std::vector<fs::path>{fs::path("mine"), fs::path("/abs/theirs")}));
}

TEST(PipelinePluginPaths, OneEntryFromTheCommandLine) {
  config::ComposedConfig composed = config::load_config(fixture("plugin_paths/included.json"));
  config::apply_override(composed, "plugin_paths.1=extra");
  const fs::path lib = fixture("plugin_paths/lib");
  EXPECT_EQ(configured_plugin_paths(composed),
            (std::vector<fs::path>{(lib / "plugins").lexically_normal(), fs::path("extra"),
                                   fs::path("/opt/lmforge/plugins")}));
}

TEST(PipelinePluginPaths, NoneConfigured) {
  config::ComposedConfig composed = config::load_config(fixture("good.json"));
  EXPECT_TRUE(configured_plugin_paths(composed).empty());
}

}  // namespace
}  // namespace lmf::pipeline
