// `lmforge plugins list` and `plugins inspect`, with the fixture plugin on the search path.
#include "tests/hosts/cli_support.h"

#include <nlohmann/json.hpp>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

// The fixture plugin's entry in `plugins list --json`; null when it is not listed.
json fixture_entry(const json& listing) {
  for (const json& plugin : listing.at("plugins"))
    if (plugin.at("name") == "lmforge-test-stages") return plugin;
  return nullptr;
}

TEST(CliPlugins, ListAsJsonShowsTheComponentsWithTheirKinds) {
  const CliResult result = run_lmforge({"plugins", "list", "--json", "--plugin-path", kPluginDir});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const json listing = json::parse(result.out);
  const json plugin = fixture_entry(listing);
  ASSERT_FALSE(plugin.is_null()) << result.out;
  EXPECT_EQ(plugin["version"], "0.0.1");
  EXPECT_EQ(plugin["vendor"], "lmforge tests");
  EXPECT_EQ(fs::path(plugin["file"].get<std::string>()).parent_path(), fs::canonical(kPluginDir));

  std::map<std::string, json> components;
  for (const json& component : plugin["components"])
    components[component["name"].get<std::string>()] = component;
  ASSERT_EQ(components.size(), 8u) << plugin.dump(2);
  EXPECT_EQ(components["echo_stage"]["kind"], "backend");
  EXPECT_EQ(components["echo_stage"]["runs_as_stage"], true);
  EXPECT_EQ(components["fail_stage"]["kind"], "backend");
  EXPECT_EQ(components["cancel_stage"]["kind"], "backend");
  EXPECT_EQ(components["wait_stage"]["kind"], "backend");
  EXPECT_EQ(components["quiet_source"]["kind"], "data_source");
  EXPECT_EQ(components["quiet_source"]["runs_as_stage"], false);
  EXPECT_EQ(components["list_source"]["kind"], "data_source");
  EXPECT_EQ(components["bad_report_source"]["kind"], "data_source");
  EXPECT_EQ(components["byte_tokenizer"]["kind"], "tokenizer");
  EXPECT_EQ(components["byte_tokenizer"]["runs_as_stage"], false);
  EXPECT_TRUE(listing["refused"].is_array());
}

TEST(CliPlugins, ListAsText) {
  const CliResult result = run_lmforge({"plugins", "list", "--plugin-path", kPluginDir});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "lmforge-test-stages 0.0.1 (lmforge tests, ABI "));
  EXPECT_TRUE(Contains(result.out, "echo_stage"));
  EXPECT_TRUE(Contains(result.out, "data_source"));
  EXPECT_TRUE(Contains(result.out, "quiet_source"));
}

TEST(CliPlugins, EnvironmentVariableAddsAFolder) {
  const CliResult result = run_lmforge({"plugins", "list", "--json"},
                                       {{"LMFORGE_PLUGIN_PATH", "/nonexistent:" + kPluginDir}});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_FALSE(fixture_entry(json::parse(result.out)).is_null()) << result.out;
}

TEST(CliPlugins, TheFixturePluginIsNotInTheDefaultSearchPath) {
  const CliResult result = run_lmforge({"plugins", "list", "--json"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(fixture_entry(json::parse(result.out)).is_null()) << result.out;
}

TEST(CliPlugins, InspectAPluginShowsItsSchemas) {
  const CliResult result =
      run_lmforge({"plugins", "inspect", "lmforge-test-stages", "--plugin-path", kPluginDir});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "plugin   lmforge-test-stages 0.0.1"));
  EXPECT_TRUE(Contains(result.out, "vendor   lmforge tests"));
  EXPECT_TRUE(Contains(result.out, "backend \"echo_stage\""));
  EXPECT_TRUE(Contains(result.out, "data_source \"quiet_source\""));
  EXPECT_TRUE(Contains(result.out, "runs as a pipeline stage: no"));
  EXPECT_TRUE(Contains(result.out, "\"greeting\""));
  EXPECT_TRUE(Contains(result.out, "\"minimum\": 1"));
}

TEST(CliPlugins, InspectAPluginAsJson) {
  const CliResult result = run_lmforge(
      {"plugins", "inspect", "lmforge-test-stages", "--json", "--plugin-path", kPluginDir});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const json plugin = json::parse(result.out);
  EXPECT_EQ(plugin["name"], "lmforge-test-stages");
  ASSERT_EQ(plugin["components"].size(), 8u);
  for (const json& component : plugin["components"])
    EXPECT_TRUE(component["config_schema"].is_object()) << component.dump();
}

TEST(CliPlugins, InspectAComponentShowsItsSchema) {
  const CliResult result =
      run_lmforge({"plugins", "inspect", "echo_stage", "--plugin-path", kPluginDir});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_TRUE(Contains(result.out, "backend \"echo_stage\" from lmforge-test-stages 0.0.1"));
  EXPECT_TRUE(Contains(result.out, "runs as a pipeline stage: yes"));
  EXPECT_TRUE(Contains(result.out, "\"additionalProperties\": false"));
  EXPECT_TRUE(Contains(result.out, "\"default\": \"hello\""));
}

TEST(CliPlugins, InspectAComponentAsJsonByKindAndName) {
  const CliResult result = run_lmforge(
      {"plugins", "inspect", "backend/echo_stage", "--json", "--plugin-path", kPluginDir});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const json found = json::parse(result.out);
  ASSERT_TRUE(found.is_array());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["kind"], "backend");
  EXPECT_EQ(found[0]["plugin"]["name"], "lmforge-test-stages");
  const json& properties = found[0]["config_schema"]["properties"];
  EXPECT_EQ(properties["greeting"]["default"], "hello");
  EXPECT_EQ(properties["count"]["minimum"], 1);
  EXPECT_EQ(properties["count"]["default"], 3);
}

TEST(CliPlugins, InspectTheWrongKind) {
  const CliResult result =
      run_lmforge({"plugins", "inspect", "tokenizer/echo_stage", "--plugin-path", kPluginDir});
  EXPECT_EQ(result.exit_code, 4) << describe(result);
}

TEST(CliPlugins, InspectUnknownName) {
  const CliResult result =
      run_lmforge({"plugins", "inspect", "no_such", "--plugin-path", kPluginDir});
  EXPECT_EQ(result.exit_code, 4) << describe(result);
  EXPECT_TRUE(Contains(result.err, "no plugin or component named \"no_such\""));
  EXPECT_TRUE(Contains(result.err, "lmforge-test-stages"));  // what is there instead
  EXPECT_TRUE(result.out.empty());
}

}  // namespace
}  // namespace lmf::cli_test
