// The registry's lookups, and the host API's find_component from one plugin to another.
#include "tests/abi/abi_fixtures.h"

#include <optional>

namespace lmf::abi_test {
namespace {

using nlohmann::json;

class AbiRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"older_minor", "good_c", "newer_minor"})
      registry.load_file(fixture(name));
  }

  RecordingServices services;
  PluginRegistry registry{services};
};

TEST_F(AbiRegistry, FindsByKindAndName) {
  std::optional<plugin::ComponentRef> found = registry.find(LMF_KIND_TOKENIZER, "byte_c");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->plugin->name(), "lmf-abi-good-c");
  EXPECT_EQ(found->kind->kind, LMF_KIND_TOKENIZER);
  EXPECT_EQ(found->schema(), "{\"type\":\"object\",\"additionalProperties\":false}");
  EXPECT_FALSE(registry.find(LMF_KIND_QUANTIZER, "byte_c").has_value());  // other kind
  EXPECT_FALSE(registry.find(LMF_KIND_TOKENIZER, "byte").has_value());    // exact names
  EXPECT_EQ(registry.find_plugin("lmf-abi-good-c"), found->plugin);
  EXPECT_EQ(registry.find_plugin("lmf-abi-older-minor"), registry.plugins()[0]);  // load order
  EXPECT_EQ(registry.find_plugin("lmf-abi-nothing"), nullptr);
}

TEST_F(AbiRegistry, ComponentsAreOrderedByKindThenName) {
  std::vector<std::string> names;
  for (const plugin::ComponentRef& ref : registry.components()) names.push_back(ref.name());
  EXPECT_EQ(names, (std::vector<std::string>{"byte_c", "newer", "older"}));
}

TEST_F(AbiRegistry, RequireListsTheLoadedNamesOfThatKind) {
  EXPECT_EQ(registry.require(LMF_KIND_TOKENIZER, "older").plugin->name(), "lmf-abi-older-minor");
  try {
    registry.require(LMF_KIND_TOKENIZER, "bpe");
    FAIL() << "no tokenizer bpe is loaded";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_NOT_FOUND);
    EXPECT_EQ(std::string(e.what()),
              "no tokenizer named \"bpe\" is loaded (loaded: byte_c, newer, older)");
  }
  try {
    registry.require(LMF_KIND_QUANTIZER, "byte_c");
    FAIL() << "no quantizer is loaded";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_NOT_FOUND);
    EXPECT_EQ(std::string(e.what()),
              "no quantizer named \"byte_c\" is loaded (none of that kind is)");
  }
}

TEST_F(AbiRegistry, HostFindComponentAnswersForAPlugin) {
  const lmf_host_api* api = plugin::host_api();
  lmf_host_t* host = registry.find_plugin("lmf-abi-good-c")->host();
  const lmf_component* found = nullptr;
  ASSERT_EQ(api->find_component(host, LMF_KIND_TOKENIZER, {"older", 5}, &found), nullptr);
  ASSERT_NE(found, nullptr);
  EXPECT_STREQ(found->name, "older");
  EXPECT_EQ(found, registry.require(LMF_KIND_TOKENIZER, "older").component);
  // The provider is kept loaded once, however often it is looked up; a plugin's own
  // components are no dependency.
  ASSERT_EQ(api->find_component(host, LMF_KIND_TOKENIZER, {"older", 5}, &found), nullptr);
  ASSERT_EQ(api->find_component(host, LMF_KIND_TOKENIZER, {"byte_c", 6}, &found), nullptr);
  ASSERT_EQ(host->dependencies.size(), 1u);
  EXPECT_EQ(host->dependencies[0]->name(), "lmf-abi-older-minor");

  // NOT_FOUND names the kind and the name, and leaves the output alone.
  const lmf_component* untouched = found;
  lmf_status_t* status = api->find_component(host, LMF_KIND_BACKEND, {"llama", 5}, &untouched);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api->status_code(status), LMF_ERR_NOT_FOUND);
  EXPECT_EQ(take_message(status), "no backend named \"llama\" is loaded (none of that kind is)");
  EXPECT_EQ(untouched, found);
}

TEST_F(AbiRegistry, HostFindComponentAfterTheRegistryIsGoneIsNotFound) {
  std::shared_ptr<plugin::LoadedPlugin> kept;
  {
    PluginRegistry other(services);
    kept = other.load_file(fixture("older_minor"));
  }
  const lmf_component* found = nullptr;
  lmf_status_t* status =
      plugin::host_api()->find_component(kept->host(), LMF_KIND_TOKENIZER, {"older", 5}, &found);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(plugin::host_api()->status_code(status), LMF_ERR_NOT_FOUND);
  EXPECT_EQ(take_message(status), "find_component: the host's registry is gone");
  EXPECT_EQ(found, nullptr);
}

// relay_c's "relay" finds good_c's "byte_c" through the host and forwards to it: good_c
// must stay loaded as long as relay_c is, though nothing else holds it.
TEST(AbiFindComponent, KeepsTheProviderLoadedAsLongAsTheCaller) {
  RecordingServices services;
  std::optional<ComponentInstance> relay;
  {
    PluginRegistry registry(services);
    registry.load_file(fixture("relay_c"));  // before its provider: lookups happen at create
    registry.load_file(fixture("good_c"));
    relay.emplace(registry.require(LMF_KIND_TOKENIZER, "relay"), json::object());
    EXPECT_EQ(tokenizer(*relay).vocab_size(relay->get()), 256u);
  }
  // The registry, and with it every reference to good_c but relay_c's, is gone.
  EXPECT_TRUE(is_mapped(fixture("good_c")));
  EXPECT_FALSE(services.logged("good_c: shutdown ran"));
  expect_byte_round_trip(*relay, "through another plugin");

  relay.reset();  // relay_c unloads, and lets good_c go
  EXPECT_TRUE(services.logged("good_c: shutdown ran"));
  EXPECT_FALSE(is_mapped(fixture("relay_c")));
  EXPECT_FALSE(is_mapped(fixture("good_c")));
}

TEST(AbiFindComponent, ProviderMissingFailsCreateWithTheHostsMessage) {
  RecordingServices services;
  PluginRegistry registry(services);
  registry.load_file(fixture("relay_c"));
  try {
    ComponentInstance relay(registry.require(LMF_KIND_TOKENIZER, "relay"), json::object());
    FAIL() << "byte_c is not loaded";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_NOT_FOUND);
    EXPECT_EQ(std::string(e.what()),
              "tokenizer \"relay\": create: no tokenizer named \"byte_c\" is loaded (loaded: "
              "relay)");
  }
}

// init runs while the registry is loading the plugin; a lookup from there must answer.
TEST(AbiFindComponent, WorksFromInit) {
  RecordingServices services;
  PluginRegistry registry(services);
  registry.load_file(fixture("good_c"));
  registry.load_file(fixture("init_finds"));
  EXPECT_TRUE(services.logged("init_finds: found byte_c"));
}

TEST(AbiFindComponent, FromInitNotFoundIsAnAnswer) {
  RecordingServices services;
  PluginRegistry registry(services);
  registry.load_file(fixture("init_finds"));
  EXPECT_TRUE(services.logged(
      "init_finds: no tokenizer named \"byte_c\" is loaded (none of that kind is)"));
}

}  // namespace
}  // namespace lmf::abi_test
