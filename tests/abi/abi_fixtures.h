// Helpers shared by the ABI tests: where the fixture plugins are, how to load one that
// must be refused, and how to drive a tokenizer through its C vtable.
#pragma once

#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "tests/support/recording_services.h"

#include <gtest/gtest.h>

#include <dlfcn.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::abi_test {

using plugin::ComponentInstance;
using plugin::PluginError;
using plugin::PluginRegistry;
using testing::RecordingServices;

// fixtures/<name>.so in the build tree (tests/abi/CMakeLists.txt).
inline std::filesystem::path fixture(std::string_view name) {
  return std::filesystem::path(LMF_ABI_FIXTURES_DIR) / (std::string(name) + ".so");
}

// A refusal: the PluginError's code and message.
struct Refusal {
  lmf_status_code code = LMF_OK;
  std::string message;
};

// Loads fixtures/<name>.so, which must be refused; fails the test if it was accepted.
inline Refusal refuse(PluginRegistry& registry, std::string_view name) {
  try {
    registry.load_file(fixture(name));
  } catch (const PluginError& e) {
    return {e.code(), e.what()};
  }
  ADD_FAILURE() << fixture(name) << " was accepted, but must be refused";
  return {};
}

// Whether `message` names `file` first (as every refusal does: "<file>: <cause>") and
// contains `cause`.
inline ::testing::AssertionResult names_file_and_cause(const std::string& message,
                                                       const std::filesystem::path& file,
                                                       std::string_view cause) {
  const std::string prefix = file.string() + ": ";
  if (message.rfind(prefix, 0) != 0)
    return ::testing::AssertionFailure()
           << "message does not start with \"" << prefix << "\":\n  " << message;
  if (message.find(cause) == std::string::npos)
    return ::testing::AssertionFailure()
           << "message does not contain \"" << cause << "\":\n  " << message;
  return ::testing::AssertionSuccess();
}

// Whether the dynamic loader has `file` mapped in this process (without loading it).
inline bool is_mapped(const std::filesystem::path& file) {
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  dlclose(handle);
  return true;
}

// The text of a status the test owns, released.
inline std::string take_message(lmf_status_t* status) {
  const lmf_host_api* api = plugin::host_api();
  std::string message = api->status_message(status);
  api->status_release(status);
  return message;
}

inline const lmf_tokenizer_vtable& tokenizer(const ComponentInstance& instance) {
  return instance.vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
}

inline std::vector<int32_t> encode(const ComponentInstance& instance, std::string_view text) {
  const lmf_host_api* api = plugin::host_api();
  lmf_str_view view{text.data(), text.size()};
  lmf_token_batch batch{nullptr, nullptr, 0};
  plugin::check_status(tokenizer(instance).encode(instance.get(), &view, 1, 0, &batch), "encode");
  std::vector<int32_t> ids(batch.ids + batch.offsets[0], batch.ids + batch.offsets[1]);
  api->free(batch.ids);
  api->free(batch.offsets);
  return ids;
}

inline std::string decode(const ComponentInstance& instance, const std::vector<int32_t>& ids) {
  const lmf_host_api* api = plugin::host_api();
  lmf_string text{nullptr, 0};
  plugin::check_status(tokenizer(instance).decode(instance.get(), ids.data(), ids.size(), 0, &text),
                       "decode");
  std::string result(text.data, text.size);
  api->free(text.data);
  return result;
}

// Encodes and decodes `text`, expecting one id per byte and the same text back.
inline void expect_byte_round_trip(const ComponentInstance& instance, std::string_view text) {
  std::vector<int32_t> ids = encode(instance, text);
  ASSERT_EQ(ids.size(), text.size());
  for (size_t i = 0; i < text.size(); ++i)
    EXPECT_EQ(ids[i], static_cast<unsigned char>(text[i])) << "byte " << i;
  EXPECT_EQ(decode(instance, ids), text);
}

}  // namespace lmf::abi_test
