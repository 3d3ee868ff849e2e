// Fixture plugins the loader must accept: a plugin written in C, one built against an
// older minor version, one built against a newer minor version; and the unload order.
#include "tests/abi/abi_fixtures.h"

#include <optional>

namespace lmf::abi_test {
namespace {

using nlohmann::json;

size_t count_logged(const RecordingServices& services, std::string_view text) {
  std::lock_guard lock(services.mutex);
  size_t count = 0;
  for (const auto& line : services.logs)
    if (line.message.find(text) != std::string::npos) ++count;
  return count;
}

TEST(AbiGoodC, LoadsWithItsDescriptorAndRunsInitOnce) {
  RecordingServices services;
  PluginRegistry registry(services);
  auto plugin = registry.load_file(fixture("good_c"));
  EXPECT_EQ(plugin->name(), "lmf-abi-good-c");
  EXPECT_EQ(plugin->version(), "1.0.0");
  EXPECT_EQ(plugin->vendor(), "lmforge tests");
  EXPECT_EQ(plugin->description(), "a minimal plugin in C");
  EXPECT_EQ(plugin->file(), std::filesystem::canonical(fixture("good_c")));
  auto components = registry.components_of(*plugin);
  ASSERT_EQ(components.size(), 1u);
  EXPECT_EQ(components[0].name(), "byte_c");
  EXPECT_EQ(components[0].kind->kind, LMF_KIND_TOKENIZER);
  EXPECT_TRUE(registry.failures().empty());

  // init logged through the host, under the plugin's name; shutdown has not run.
  ASSERT_EQ(count_logged(services, "good_c: init ran"), 1u);
  {
    std::lock_guard lock(services.mutex);
    for (const auto& line : services.logs)
      if (line.message == "good_c: init ran") {
        EXPECT_EQ(line.source, "lmf-abi-good-c");
        EXPECT_EQ(line.level, LMF_LOG_INFO);
      }
  }
  EXPECT_EQ(count_logged(services, "good_c: shutdown ran"), 0u);

  // The same file again is the same plugin, not a second load (init does not run again).
  EXPECT_EQ(registry.load_file(fixture("good_c")), plugin);
  EXPECT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(count_logged(services, "good_c: init ran"), 1u);
}

TEST(AbiGoodC, TokenizerWorksThroughTheVtable) {
  RecordingServices services;
  PluginRegistry registry(services);
  registry.load_file(fixture("good_c"));
  ComponentInstance instance(registry.require(LMF_KIND_TOKENIZER, "byte_c"), json::object());
  const lmf_tokenizer_vtable& vtable = tokenizer(instance);
  const lmf_host_api* api = plugin::host_api();

  EXPECT_EQ(vtable.vocab_size(instance.get()), 256u);
  expect_byte_round_trip(instance, "hello, world");
  expect_byte_round_trip(instance, "h\xc3\xa9llo \xf0\x9f\x98\x80");  // multi-byte UTF-8

  // A batch of three texts comes back in CSR form.
  const lmf_str_view texts[] = {{"ab", 2}, {"", 0}, {"xyz", 3}};
  lmf_token_batch batch{nullptr, nullptr, 0};
  ASSERT_EQ(vtable.encode(instance.get(), texts, 3, LMF_TOKENIZE_ADD_SPECIAL, &batch), nullptr);
  ASSERT_EQ(batch.count, 3u);
  EXPECT_EQ(std::vector<size_t>(batch.offsets, batch.offsets + 4),
            (std::vector<size_t>{0, 2, 2, 5}));
  EXPECT_EQ(std::vector<int32_t>(batch.ids, batch.ids + 5),
            (std::vector<int32_t>{'a', 'b', 'x', 'y', 'z'}));
  api->free(batch.ids);
  api->free(batch.offsets);

  int32_t id = -1;
  ASSERT_EQ(vtable.token_to_id(instance.get(), {"A", 1}, &id), nullptr);
  EXPECT_EQ(id, 65);
  lmf_string token{nullptr, 0};
  ASSERT_EQ(vtable.id_to_token(instance.get(), 66, &token), nullptr);
  EXPECT_EQ(std::string(token.data, token.size), "B");
  api->free(token.data);

  // Errors come back as status objects, and the outputs stay untouched.
  id = -7;
  lmf_status_t* status = vtable.token_to_id(instance.get(), {"AB", 2}, &id);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api->status_code(status), LMF_ERR_NOT_FOUND);
  EXPECT_EQ(take_message(status), "byte tokenizer: a token is exactly one byte");
  EXPECT_EQ(id, -7);
  const int32_t bad[] = {65, 256};
  lmf_string text{nullptr, 0};
  status = vtable.decode(instance.get(), bad, 2, 0, &text);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api->status_code(status), LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(take_message(status), "byte tokenizer: id out of range [0, 256)");
  EXPECT_EQ(text.data, nullptr);
  // The optional members it leaves NULL.
  EXPECT_EQ(vtable.train, nullptr);
  EXPECT_EQ(vtable.save, nullptr);
}

TEST(AbiGoodC, RunStageReachesTheHostServices) {
  RecordingServices services;
  services.config = {{"seed", 1234}};
  PluginRegistry registry(services);
  registry.load_file(fixture("good_c"));
  ComponentInstance instance(registry.require(LMF_KIND_TOKENIZER, "byte_c"), json::object());
  ASSERT_TRUE(instance.runs_as_stage());

  const json stage = {{"use", "byte_c"}};
  json summary = instance.run_stage(stage);
  EXPECT_EQ(summary, (json{{"steps", 3}, {"stage_bytes", stage.dump().size()}, {"seed", 1234}}));
  {
    std::lock_guard lock(services.mutex);
    ASSERT_EQ(services.tasks.size(), 1u);
    EXPECT_EQ(services.tasks[0].label, "byte_c stage");
    EXPECT_EQ(services.tasks[0].total, 3);
    EXPECT_EQ(services.tasks[0].done, 3);
    EXPECT_TRUE(services.tasks[0].ended);
    ASSERT_EQ(services.metrics.size(), 1u);
    EXPECT_EQ(services.metrics[0].source, "lmf-abi-good-c");
    EXPECT_EQ(services.metrics[0].name, "byte_c/steps");
    EXPECT_EQ(services.metrics[0].value, 3.0);
    EXPECT_EQ(services.metrics[0].step, 7);
  }

  // config_get's NOT_FOUND is an answer the plugin handles, not a failure.
  services.config = json::object();
  EXPECT_EQ(instance.run_stage(stage)["seed"], nullptr);

  services.cancel_flag = true;
  try {
    instance.run_stage(stage);
    FAIL() << "a cancelled run must fail";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_CANCELLED);
    EXPECT_EQ(std::string(e.what()), "tokenizer \"byte_c\": run_stage: byte_c: cancelled");
  }
}

// Note [Unload order]: an instance keeps its plugin loaded after the registry is gone;
// shutdown runs and the library is unloaded when the last instance is destroyed.
TEST(AbiGoodC, UnloadsWhenTheLastInstanceIsDestroyed) {
  RecordingServices services;  // outlives everything, so shutdown's log line is seen
  const auto file = fixture("good_c");
  ASSERT_FALSE(is_mapped(file)) << "an earlier test left good_c loaded";
  std::optional<ComponentInstance> first, second;
  {
    PluginRegistry registry(services);
    registry.load_file(file);
    first.emplace(registry.require(LMF_KIND_TOKENIZER, "byte_c"), json::object());
    second.emplace(registry.require(LMF_KIND_TOKENIZER, "byte_c"), json::object());
  }
  EXPECT_TRUE(is_mapped(file));
  EXPECT_EQ(count_logged(services, "good_c: shutdown ran"), 0u);
  expect_byte_round_trip(*first, "still loaded");

  first.reset();
  EXPECT_TRUE(is_mapped(file));
  EXPECT_EQ(count_logged(services, "good_c: shutdown ran"), 0u);
  expect_byte_round_trip(*second, "still loaded");

  second.reset();
  EXPECT_EQ(count_logged(services, "good_c: shutdown ran"), 1u);
  EXPECT_FALSE(is_mapped(file));
}

TEST(AbiGoodC, UnloadsWithTheRegistryWhenNoInstanceIsLeft) {
  RecordingServices services;
  const auto file = fixture("good_c");
  {
    PluginRegistry registry(services);
    registry.load_file(file);
    ComponentInstance instance(registry.require(LMF_KIND_TOKENIZER, "byte_c"), json::object());
    EXPECT_EQ(count_logged(services, "good_c: shutdown ran"), 0u);
  }
  EXPECT_EQ(count_logged(services, "good_c: shutdown ran"), 1u);
  EXPECT_FALSE(is_mapped(file));
}

// The fixture's descriptors end before init/shutdown and run_stage, and hold a poison
// pointer there: reading or calling an absent member would crash this test.
TEST(AbiOlderMinor, LoadsAndWorksWithoutTouchingAbsentMembers) {
  RecordingServices services;
  std::optional<ComponentInstance> instance;
  {
    PluginRegistry registry(services);
    auto plugin = registry.load_file(fixture("older_minor"));  // would call init
    EXPECT_EQ(plugin->descriptor().abi_minor, 0);
    EXPECT_EQ(plugin->descriptor().struct_size,
              offsetof(lmf_plugin, components) + sizeof(lmf_plugin::components));
    EXPECT_LT(plugin->descriptor().struct_size, sizeof(lmf_plugin));
    EXPECT_EQ(plugin->description(), "descriptors of an older minor version");
    plugin::ComponentRef ref = registry.require(LMF_KIND_TOKENIZER, "older");
    EXPECT_LT(ref.component->struct_size, sizeof(lmf_component));
    instance.emplace(ref, json::object());
  }
  expect_byte_round_trip(*instance, "from an older plugin");
  EXPECT_FALSE(instance->runs_as_stage());  // would read run_stage
  try {
    instance->run_stage(json::object());
    FAIL() << "run_stage is absent";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_UNSUPPORTED);
    EXPECT_EQ(std::string(e.what()), "tokenizer \"older\" cannot run as a pipeline stage");
  }
  instance.reset();  // unloads: would call shutdown
  EXPECT_FALSE(is_mapped(fixture("older_minor")));
}

TEST(AbiNewerMinor, LoadsAndSkipsTheKindItDoesNotKnow) {
  RecordingServices services;
  PluginRegistry registry(services);
  auto plugin = registry.load_file(fixture("newer_minor"));
  EXPECT_EQ(plugin->descriptor().abi_minor, LMF_ABI_MINOR + 1);
  EXPECT_GT(plugin->descriptor().struct_size, sizeof(lmf_plugin));

  // The component of an unknown kind is skipped with a warning, not refused.
  auto components = registry.components_of(*plugin);
  ASSERT_EQ(components.size(), 1u);
  EXPECT_EQ(components[0].name(), "newer");
  EXPECT_GT(components[0].component->struct_size, sizeof(lmf_component));
  EXPECT_GT(*static_cast<const uint32_t*>(components[0].component->vtable),
            sizeof(lmf_tokenizer_vtable));
  EXPECT_FALSE(registry.find(99, "hologram").has_value());
  EXPECT_TRUE(services.logged(fixture("newer_minor").string() +
                              ": skipping component \"hologram\" of unknown kind 99 (made for a "
                              "newer host)"));

  ComponentInstance instance(components[0], json::object());
  expect_byte_round_trip(instance, "from a newer plugin");
  EXPECT_FALSE(instance.runs_as_stage());
}

}  // namespace
}  // namespace lmf::abi_test
