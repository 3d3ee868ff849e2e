// The host's API table as a plugin sees it: status objects, memory, tensors, logging,
// metrics, progress, cancellation and configuration, reaching the host's services.
#include "tests/abi/abi_fixtures.h"

#include <cstring>

namespace lmf::abi_test {
namespace {

using nlohmann::json;

TEST(AbiHostApi, TableIsCompleteAndVersioned) {
  const lmf_host_api* api = plugin::host_api();
  EXPECT_EQ(api->struct_size, sizeof(lmf_host_api));
  EXPECT_EQ(api->abi_major, LMF_ABI_MAJOR);
  EXPECT_EQ(api->abi_minor, LMF_ABI_MINOR);
  // Every member after the header is a function pointer, and ABI 1.0 has no optional one.
  const size_t first = offsetof(lmf_host_api, status_create);
  for (size_t offset = first; offset < sizeof(lmf_host_api); offset += sizeof(void*)) {
    void* function = nullptr;
    std::memcpy(&function, reinterpret_cast<const char*>(api) + offset, sizeof(function));
    EXPECT_NE(function, nullptr) << "member at offset " << offset;
  }
}

TEST(AbiHostApi, StatusCreateMessageRelease) {
  const lmf_host_api* api = plugin::host_api();
  // The view need not be NUL-terminated: only `size` bytes are copied.
  const char text[] = "disk full, and more";
  lmf_status_t* status = api->status_create(LMF_ERR_IO, {text, 9});
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api->status_code(status), LMF_ERR_IO);
  EXPECT_STREQ(api->status_message(status), "disk full");
  api->status_release(status);

  status = api->status_create(LMF_ERR_DATA, {nullptr, 0});
  ASSERT_NE(status, nullptr);
  EXPECT_STREQ(api->status_message(status), "");
  api->status_release(status);
  api->status_release(nullptr);  // accepted and ignored

  // The host turns a plugin's status into an exception with its code and message.
  try {
    plugin::check_status(api->status_create(LMF_ERR_ABI, {"bad", 3}), "context");
    FAIL() << "a status is an error";
  } catch (const PluginError& e) {
    EXPECT_EQ(e.code(), LMF_ERR_ABI);
    EXPECT_EQ(std::string(e.what()), "context: bad");
  }
}

TEST(AbiHostApi, AllocHonoursAlignment) {
  const lmf_host_api* api = plugin::host_api();
  for (size_t alignment : {size_t{0}, size_t{1}, size_t{16}, size_t{64}, size_t{4096}}) {
    void* block = api->alloc(100, alignment);
    ASSERT_NE(block, nullptr) << alignment;
    const size_t expected = alignment == 0 ? 16 : alignment;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(block) % expected, 0u) << alignment;
    std::memset(block, 0xab, 100);
    api->free(block);
  }
  EXPECT_EQ(api->alloc(16, 48), nullptr);  // not a power of two
  void* empty = api->alloc(0, 0);
  EXPECT_NE(empty, nullptr);
  api->free(empty);
  api->free(nullptr);
}

TEST(AbiHostApi, TensorAllocIsShapedZeroedAndFreedByItsDeleter) {
  const lmf_host_api* api = plugin::host_api();
  int64_t shape[] = {2, 3, 4};
  DLManagedTensor* tensor = nullptr;
  ASSERT_EQ(api->tensor_alloc({kDLFloat, 32, 1}, 3, shape, &tensor), nullptr);
  ASSERT_NE(tensor, nullptr);
  shape[0] = 99;  // the tensor keeps its own copy of the shape
  const DLTensor& t = tensor->dl_tensor;
  EXPECT_EQ(t.ndim, 3);
  EXPECT_EQ(t.shape[0], 2);
  EXPECT_EQ(t.shape[1], 3);
  EXPECT_EQ(t.shape[2], 4);
  EXPECT_EQ(t.strides, nullptr);  // compact row-major
  EXPECT_EQ(t.byte_offset, 0u);
  EXPECT_EQ(t.device.device_type, kDLCPU);
  EXPECT_EQ(t.dtype.code, kDLFloat);
  EXPECT_EQ(t.dtype.bits, 32);
  EXPECT_EQ(t.dtype.lanes, 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data) % 64, 0u);
  const auto* values = static_cast<const float*>(t.data);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(values[i], 0.0f) << i;
  static_cast<float*>(t.data)[23] = 1.5f;  // the whole extent is writable (ASan checks)
  ASSERT_NE(tensor->deleter, nullptr);
  tensor->deleter(tensor);  // frees everything: a leak or double free fails under ASan

  // A scalar has one element; an empty extent is valid.
  ASSERT_EQ(api->tensor_alloc({kDLInt, 64, 1}, 0, nullptr, &tensor), nullptr);
  EXPECT_EQ(tensor->dl_tensor.ndim, 0);
  EXPECT_EQ(*static_cast<const int64_t*>(tensor->dl_tensor.data), 0);
  tensor->deleter(tensor);
  const int64_t empty[] = {0, 5};
  ASSERT_EQ(api->tensor_alloc({kDLBfloat, 16, 1}, 2, empty, &tensor), nullptr);
  EXPECT_EQ(tensor->dl_tensor.shape[0], 0);
  tensor->deleter(tensor);
}

TEST(AbiHostApi, TensorAllocRefusesBadShapesAndLeavesTheOutputAlone) {
  const lmf_host_api* api = plugin::host_api();
  auto* const sentinel = reinterpret_cast<DLManagedTensor*>(uintptr_t{0x1234});
  DLManagedTensor* tensor = sentinel;
  const int64_t negative[] = {2, -3};
  lmf_status_t* status = api->tensor_alloc({kDLFloat, 32, 1}, 2, negative, &tensor);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api->status_code(status), LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(take_message(status), "tensor_alloc: negative extent -3");
  EXPECT_EQ(tensor, sentinel);

  status = api->tensor_alloc({kDLFloat, 32, 1}, 2, nullptr, &tensor);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api->status_code(status), LMF_ERR_INVALID_ARGUMENT);
  api->status_release(status);
  status = api->tensor_alloc({kDLFloat, 32, 1}, -1, nullptr, &tensor);
  ASSERT_NE(status, nullptr);
  api->status_release(status);
  EXPECT_EQ(tensor, sentinel);
}

// The calls below use a real plugin's host handle, as the plugin itself would.
class AbiHostServices : public ::testing::Test {
 protected:
  void SetUp() override { host = registry.load_file(fixture("good_c"))->host(); }

  const lmf_host_api* api = plugin::host_api();
  RecordingServices services;
  PluginRegistry registry{services};
  lmf_host_t* host = nullptr;
};

TEST_F(AbiHostServices, LogAndMetricCarryThePluginsName) {
  api->log(host, LMF_LOG_WARNING, {"low disk space", 14});
  api->metric(host, {"train/loss", 10}, 2.5, 42);
  std::lock_guard lock(services.mutex);
  ASSERT_FALSE(services.logs.empty());
  EXPECT_EQ(services.logs.back().level, LMF_LOG_WARNING);
  EXPECT_EQ(services.logs.back().source, "lmf-abi-good-c");
  EXPECT_EQ(services.logs.back().message, "low disk space");
  ASSERT_EQ(services.metrics.size(), 1u);
  EXPECT_EQ(services.metrics[0].source, "lmf-abi-good-c");
  EXPECT_EQ(services.metrics[0].name, "train/loss");
  EXPECT_EQ(services.metrics[0].value, 2.5);
  EXPECT_EQ(services.metrics[0].step, 42);
}

TEST_F(AbiHostServices, ProgressCallsReachTheServices) {
  lmf_progress_t* first = api->progress_begin(host, {"records", 7}, 10, {"records", 7});
  lmf_progress_t* second = api->progress_begin(host, {"shards", 6}, -1, {"files", 5});
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  api->progress_advance(first, 4);
  api->progress_advance(second, 1);
  api->progress_advance(first, 6);
  api->progress_end(first);
  {
    std::lock_guard lock(services.mutex);
    ASSERT_EQ(services.tasks.size(), 2u);
    EXPECT_EQ(services.tasks[0].label, "records");
    EXPECT_EQ(services.tasks[0].total, 10);
    EXPECT_EQ(services.tasks[0].done, 10);
    EXPECT_TRUE(services.tasks[0].ended);
    EXPECT_EQ(services.tasks[1].label, "shards");
    EXPECT_EQ(services.tasks[1].total, -1);
    EXPECT_EQ(services.tasks[1].done, 1);
    EXPECT_FALSE(services.tasks[1].ended);
  }
  api->progress_end(second);
  EXPECT_TRUE(services.tasks[1].ended);
  api->progress_advance(nullptr, 1);  // tolerated
  api->progress_end(nullptr);
}

TEST_F(AbiHostServices, IsCancelledFollowsTheServices) {
  EXPECT_EQ(api->is_cancelled(host), 0);
  services.cancel_flag = true;
  EXPECT_NE(api->is_cancelled(host), 0);
}

TEST_F(AbiHostServices, ConfigGetFindsValuesAsJson) {
  services.config = {{"model", {{"name", "tiny"}, {"layers", 2}}}};
  lmf_string out{nullptr, 0};
  ASSERT_EQ(api->config_get(host, {"/model/name", 11}, &out), nullptr);
  EXPECT_EQ(std::string(out.data, out.size), "\"tiny\"");
  EXPECT_EQ(out.data[out.size], '\0');
  api->free(out.data);
  ASSERT_EQ(api->config_get(host, {"/model/layers", 13}, &out), nullptr);
  EXPECT_EQ(std::string(out.data, out.size), "2");
  api->free(out.data);
  ASSERT_EQ(api->config_get(host, {"", 0}, &out), nullptr);  // the whole document
  EXPECT_EQ(json::parse(std::string(out.data, out.size)), services.config);
  api->free(out.data);
}

TEST_F(AbiHostServices, ConfigGetNotFoundNamesThePointerAndLeavesTheOutputAlone) {
  services.config = {{"model", {{"name", "tiny"}}}};
  char unchanged[] = "unchanged";
  lmf_string out{unchanged, 9};
  lmf_status_t* status = api->config_get(host, {"/model/depth", 12}, &out);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(api->status_code(status), LMF_ERR_NOT_FOUND);
  EXPECT_EQ(take_message(status), "the configuration has nothing at \"/model/depth\"");
  EXPECT_EQ(out.data, unchanged);
  EXPECT_EQ(out.size, 9u);
}

}  // namespace
}  // namespace lmf::abi_test
