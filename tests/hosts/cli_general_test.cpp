// `lmforge` itself: version, help, and how it answers a wrong command line.
#include "tests/hosts/cli_support.h"

#include <lmf/lmf.h>
#include <nlohmann/json.hpp>

namespace lmf::cli_test {
namespace {

using nlohmann::json;

const std::string kAbi = std::to_string(LMF_ABI_MAJOR) + "." + std::to_string(LMF_ABI_MINOR);

TEST(CliGeneral, Version) {
  const CliResult result = run_lmforge({"version"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  EXPECT_EQ(result.out, "lmforge " LMF_VERSION " (plugin ABI " + kAbi + ")\n");
  EXPECT_EQ(run_lmforge({"--version"}).out, result.out);
}

TEST(CliGeneral, VersionAsJson) {
  const CliResult result = run_lmforge({"version", "--json"});
  ASSERT_EQ(result.exit_code, 0) << describe(result);
  const json parsed = json::parse(result.out);
  EXPECT_EQ(parsed, (json{{"lmforge", LMF_VERSION}, {"plugin_abi", kAbi}}));
}

TEST(CliGeneral, OverviewWithoutACommandIsAUsageError) {
  const CliResult result = run_lmforge({});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.out, "Usage: lmforge <command>"));
}

TEST(CliGeneral, HelpPrintsTheOverview) {
  for (const char* word : {"--help", "-h", "help"}) {
    const CliResult result = run_lmforge({word});
    EXPECT_EQ(result.exit_code, 0) << word << ": " << describe(result);
    EXPECT_TRUE(Contains(result.out, "Usage: lmforge <command>")) << word;
    EXPECT_TRUE(Contains(result.out, "Exit codes:")) << word;
  }
}

TEST(CliGeneral, EveryCommandHasHelp) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> commands{
      {{"plugins", "list"}, "Usage: lmforge plugins list"},
      {{"plugins", "inspect"}, "Usage: lmforge plugins inspect NAME"},
      {{"config", "check"}, "Usage: lmforge config check FILE"},
      {{"run"}, "Usage: lmforge run FILE"},
      {{"version"}, "Usage: lmforge version"},
  };
  for (const auto& [words, usage] : commands) {
    std::vector<std::string> args = words;
    args.push_back("--help");
    const CliResult result = run_lmforge(args);
    EXPECT_EQ(result.exit_code, 0) << usage << ": " << describe(result);
    EXPECT_TRUE(Contains(result.out, usage));
    EXPECT_TRUE(Contains(result.out, "--plugin-path"));  // the common options are listed
  }
}

TEST(CliGeneral, UnknownCommand) {
  const CliResult result = run_lmforge({"frobnicate"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "unknown command \"frobnicate\""));
}

TEST(CliGeneral, UnknownCommandWithArguments) {
  const CliResult result = run_lmforge({"versoin", "--json"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "unknown command \"versoin\"\n"));
}

TEST(CliGeneral, UnknownSubcommand) {
  const CliResult result = run_lmforge({"plugins", "frobnicate"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "unknown command \"plugins frobnicate\""));
}

TEST(CliGeneral, UnknownOption) {
  const CliResult result = run_lmforge({"version", "--bogus"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "bogus"));
  EXPECT_TRUE(Contains(result.err, "lmforge version --help"));
  EXPECT_TRUE(result.out.empty());
}

TEST(CliGeneral, MissingOperand) {
  const CliResult result = run_lmforge({"run"});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "file"));
}

TEST(CliGeneral, BadLogLevel) {
  const CliResult result =
      run_lmforge({"plugins", "list", "--log-level", "loud", "--plugin-path", kPluginDir});
  EXPECT_EQ(result.exit_code, 2) << describe(result);
  EXPECT_TRUE(Contains(result.err, "loud"));
}

}  // namespace
}  // namespace lmf::cli_test
