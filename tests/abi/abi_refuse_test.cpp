// Fixture plugins the loader must refuse, each with a message that names the file and the
// cause; and a folder of good and bad plugins, where the host reports every bad one and
// goes on with the others.
#include "tests/abi/abi_fixtures.h"

#include <fstream>
#include <map>
#include <set>

namespace lmf::abi_test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string version_text(int major, int minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// The cause each refused fixture's message must contain (after "<file>: ").
const std::map<std::string, std::string>& refused_causes() {
  static const std::map<std::string, std::string> causes = {
      {"newer_major", "built for plugin ABI " + version_text(LMF_ABI_MAJOR + 1, 0) +
                          ", but this host supports ABI " +
                          version_text(LMF_ABI_MAJOR, LMF_ABI_MINOR)},
      {"no_entry", "has no entry symbol 'lmf_plugin_entry'"},
      {"null_entry", "entry point returned NULL"},
      {"null_slot", "quantizer \"null_slot\": required vtable slot 'matmul' is NULL"},
      {"throws_entry",
       "entry point threw an exception: throws_entry: the entry point throws on purpose"},
      {"init_error", "init failed: cannot read the license file /nonexistent/license.key"},
      {"init_throws", "init threw an exception: init_throws: init throws on purpose"},
      {"duplicate_b", "tokenizer \"dup\" is already provided by "},
      {"missing_dep", "cannot be loaded: libabi_gone.so: cannot open shared object file"},
      {"bad_schema_json", "tokenizer \"bad_json\": config_schema is not valid JSON"},
      {"bad_schema_keyword",
       "tokenizer \"bad_keyword\": config_schema: #/properties/width/multipleOf"},
      {"not_a_library", "cannot be loaded: "},
  };
  return causes;
}

// The plugins of the fixtures folder that must load.
const std::set<std::string> accepted_plugins = {"lmf-abi-duplicate-a", "lmf-abi-good-c",
                                                "lmf-abi-init-finds",  "lmf-abi-newer-minor",
                                                "lmf-abi-older-minor", "lmf-abi-relay-c"};

// One fixture loaded alone: refused with its cause, and nothing of it left behind.
void expect_refused_alone(const std::string& name, lmf_status_code code) {
  SCOPED_TRACE(name);
  RecordingServices services;
  PluginRegistry registry(services);
  Refusal refusal = refuse(registry, name);
  EXPECT_EQ(refusal.code, code) << refusal.message;
  EXPECT_TRUE(names_file_and_cause(refusal.message, fixture(name), refused_causes().at(name)));
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_TRUE(registry.components().empty());
  ASSERT_EQ(registry.failures().size(), 1u);
  EXPECT_EQ(registry.failures()[0].file, fixture(name));
  EXPECT_EQ(registry.failures()[0].message, refusal.message);
  // A refused library does not stay loaded.
  EXPECT_FALSE(is_mapped(fixture(name)));
}

TEST(AbiRefuse, NewerMajorNamesBothVersions) {
  expect_refused_alone("newer_major", LMF_ERR_ABI);
}

TEST(AbiRefuse, NoEntrySymbolNamesTheSymbol) {
  expect_refused_alone("no_entry", LMF_ERR_ABI);
}

TEST(AbiRefuse, EntryReturningNullIsRefusedAfterItsOwnMessage) {
  expect_refused_alone("null_entry", LMF_ERR_ABI);
  RecordingServices services;
  PluginRegistry registry(services);
  refuse(registry, "null_entry");
  // The plugin's reason is logged under its file name (it has no descriptor to name it).
  std::lock_guard lock(services.mutex);
  ASSERT_EQ(services.logs.size(), 1u);
  EXPECT_EQ(services.logs[0].source, "null_entry.so");
  EXPECT_EQ(services.logs[0].message, "null_entry: this fixture refuses every host");
}

TEST(AbiRefuse, NullRequiredSlotNamesTheSlot) {
  expect_refused_alone("null_slot", LMF_ERR_ABI);
}

TEST(AbiRefuse, EntryThatThrowsIsRefusedWithTheExceptionsMessage) {
  expect_refused_alone("throws_entry", LMF_ERR_INTERNAL);
}

TEST(AbiRefuse, InitErrorIsRefusedWithItsStatusMessage) {
  expect_refused_alone("init_error", LMF_ERR_IO);  // the code of the plugin's own status
}

TEST(AbiRefuse, InitThatThrowsIsRefused) {
  expect_refused_alone("init_throws", LMF_ERR_INTERNAL);
}

TEST(AbiRefuse, MissingDependencyGivesTheDynamicLoadersMessage) {
  expect_refused_alone("missing_dep", LMF_ERR_IO);
}

TEST(AbiRefuse, SchemaThatIsNotJsonNamesTheComponent) {
  expect_refused_alone("bad_schema_json", LMF_ERR_ABI);
}

TEST(AbiRefuse, SchemaWithAnUnknownKeywordNamesTheComponentAndTheKeyword) {
  expect_refused_alone("bad_schema_keyword", LMF_ERR_ABI);
}

TEST(AbiRefuse, FileThatIsNotALibraryCannotBeLoaded) {
  expect_refused_alone("not_a_library", LMF_ERR_IO);
}

TEST(AbiRefuse, MissingFileIsNotFound) {
  RecordingServices services;
  PluginRegistry registry(services);
  Refusal refusal = refuse(registry, "does_not_exist");
  EXPECT_EQ(refusal.code, LMF_ERR_NOT_FOUND);
  EXPECT_TRUE(names_file_and_cause(refusal.message, fixture("does_not_exist"), "file not found"));
}

TEST(AbiRefuse, DuplicateComponentNamesBothFiles) {
  RecordingServices services;
  PluginRegistry registry(services);
  auto first = registry.load_file(fixture("duplicate_a"));
  Refusal refusal = refuse(registry, "duplicate_b");
  EXPECT_EQ(refusal.code, LMF_ERR_ABI);
  EXPECT_TRUE(names_file_and_cause(
      refusal.message, fixture("duplicate_b"),
      "tokenizer \"dup\" is already provided by " + first->file().string() +
          " (plugin \"lmf-abi-duplicate-a\"); component names must be unique per kind"));
  // The first one keeps the name, and still works.
  ASSERT_EQ(registry.plugins().size(), 1u);
  plugin::ComponentRef dup = registry.require(LMF_KIND_TOKENIZER, "dup");
  EXPECT_EQ(dup.plugin, first);
  ComponentInstance instance(dup, json::object());
  expect_byte_round_trip(instance, "first one wins");
  EXPECT_FALSE(is_mapped(fixture("duplicate_b")));
}

// A refusal leaves the registry usable: the next plugin loads and works.
TEST(AbiRefuse, HostGoesOnAfterEachRefusal) {
  RecordingServices services;
  PluginRegistry registry(services);
  for (const auto& [name, cause] : refused_causes()) {
    if (name == "duplicate_b") continue;  // refused only after duplicate_a
    SCOPED_TRACE(name);
    Refusal refusal = refuse(registry, name);
    EXPECT_TRUE(names_file_and_cause(refusal.message, fixture(name), cause));
  }
  auto good = registry.load_file(fixture("good_c"));
  EXPECT_EQ(registry.plugins().size(), 1u);
  ComponentInstance instance(registry.require(LMF_KIND_TOKENIZER, "byte_c"), json::object());
  expect_byte_round_trip(instance, "after every refusal");
  EXPECT_EQ(registry.failures().size(), refused_causes().size() - 1);
}

TEST(AbiRefuse, LoadingTheFixturesFolderLoadsTheGoodOnesAndReportsEachBadOne) {
  RecordingServices services;
  PluginRegistry registry(services);
  const fs::path folder = LMF_ABI_FIXTURES_DIR;
  std::vector<plugin::LoadFailure> refused =
      registry.load_directories({folder / "no-such-folder", folder});

  std::map<std::string, std::string> by_name;
  for (const plugin::LoadFailure& failure : refused)
    by_name[failure.file.stem().string()] = failure.message;
  std::set<std::string> refused_names, expected_names;
  for (const auto& [name, message] : by_name) refused_names.insert(name);
  for (const auto& [name, cause] : refused_causes()) expected_names.insert(name);
  EXPECT_EQ(refused_names, expected_names);
  for (const auto& [name, cause] : refused_causes()) {
    if (!by_name.count(name)) continue;
    SCOPED_TRACE(name);
    EXPECT_TRUE(names_file_and_cause(by_name[name], folder / (name + ".so"), cause));
  }
  EXPECT_EQ(registry.failures().size(), refused.size());

  std::set<std::string> loaded;
  for (const auto& plugin : registry.plugins()) loaded.insert(plugin->name());
  EXPECT_EQ(loaded, accepted_plugins);

  std::vector<std::string> tokenizers;
  for (const plugin::ComponentRef& ref : registry.components()) {
    EXPECT_EQ(ref.component->kind, LMF_KIND_TOKENIZER);
    tokenizers.push_back(ref.name());
  }
  EXPECT_EQ(tokenizers, (std::vector<std::string>{"byte_c", "dup", "newer", "older", "relay"}));

  // What loaded works, the component lookups between plugins included.
  for (const char* name : {"byte_c", "dup", "newer", "older", "relay"}) {
    SCOPED_TRACE(name);
    ComponentInstance instance(registry.require(LMF_KIND_TOKENIZER, name), json::object());
    expect_byte_round_trip(instance, "loaded from a folder");
  }
  EXPECT_TRUE(services.logged("good_c: init ran"));
  EXPECT_TRUE(services.logged("init_finds: found byte_c"));
}

TEST(AbiRefuse, NothingOfARefusedPluginIsListed) {
  RecordingServices services;
  PluginRegistry registry(services);
  registry.load_directories({LMF_ABI_FIXTURES_DIR});
  for (const char* name : {"never", "init_error", "init_throws", "bad_json", "bad_keyword"})
    EXPECT_FALSE(registry.find(LMF_KIND_TOKENIZER, name).has_value()) << name;
  EXPECT_FALSE(registry.find(LMF_KIND_QUANTIZER, "null_slot").has_value());
  for (const char* name : {"lmf-abi-newer-major", "lmf-abi-init-error", "lmf-abi-init-throws",
                           "lmf-abi-duplicate-b", "lmf-abi-null-slot"})
    EXPECT_EQ(registry.find_plugin(name), nullptr) << name;
}

}  // namespace
}  // namespace lmf::abi_test
