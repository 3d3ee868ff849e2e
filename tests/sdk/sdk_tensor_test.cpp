// TensorView's checks, and the tensors the SDK makes through the host.
#include "tests/sdk/sdk_test_host.h"

#include <lmf/sdk/tensor.h>

#include <cstdint>
#include <vector>

namespace lmf::sdk::testing {
namespace {

using SdkTensor = SdkTest;

// A DLTensor over a local buffer; strides NULL unless given.
struct LocalTensor {
  std::vector<float> values;
  std::vector<int64_t> shape, strides;
  DLTensor dl{};

  LocalTensor(std::vector<int64_t> extents, std::vector<int64_t> steps = {})
      : shape(std::move(extents)), strides(std::move(steps)) {
    int64_t count = 1;
    for (int64_t extent : shape) count *= extent;
    values.assign(static_cast<size_t>(count), 0.0f);
    dl.data = values.data();
    dl.device = {kDLCPU, 0};
    dl.ndim = static_cast<int32_t>(shape.size());
    dl.dtype = dtype_of<float>();
    dl.shape = shape.data();
    dl.strides = strides.empty() ? nullptr : strides.data();
  }
};

// The code and message of the Error that `body` throws.
template <class Body>
std::pair<lmf_status_code, std::string> error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return {e.code(), e.what()};
  }
  return {LMF_OK, "(nothing thrown)"};
}

TEST_F(SdkTensor, ReportsRankExtentsAndCount) {
  LocalTensor t({3, 4, 5});
  TensorView view(t.dl, "x");
  EXPECT_EQ(view.ndim(), 3);
  EXPECT_EQ(view.dim(0), 3);
  EXPECT_EQ(view.dim(2), 5);
  EXPECT_EQ(view.numel(), 60);
  EXPECT_TRUE(view.on_cpu());
  EXPECT_TRUE(view.dtype() == dtype_of<float>());
}

TEST_F(SdkTensor, AcceptsAContiguousCpuTensorOfTheRightTypeAndRank) {
  LocalTensor t({2, 3});
  EXPECT_NO_THROW(TensorView(t.dl, "x").expect_cpu(dtype_of<float>(), 2));
  LocalTensor compact({2, 3}, {3, 1});
  EXPECT_NO_THROW(TensorView(compact.dl, "x").expect_cpu(dtype_of<float>(), 2));
  // A dimension of extent 1 may have any stride.
  LocalTensor single_row({1, 3}, {99, 1});
  EXPECT_TRUE(TensorView(single_row.dl, "x").contiguous());
}

TEST_F(SdkTensor, WrongDtypeNamesTheTensorAndBothTypes) {
  LocalTensor t({2, 3});
  auto [code, message] =
      error_of([&] { TensorView(t.dl, "weight").expect_cpu(dtype_of<int8_t>(), 2); });
  EXPECT_EQ(code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(message, "weight: expected int8, got float32");
}

TEST_F(SdkTensor, WrongRankNamesTheTensorAndBothRanks) {
  LocalTensor t({6});
  auto [code, message] =
      error_of([&] { TensorView(t.dl, "weight").expect_cpu(dtype_of<float>(), 2); });
  EXPECT_EQ(code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(message, "weight: expected 2 dimensions, got 1");
}

TEST_F(SdkTensor, StridedTensorIsNotContiguous) {
  LocalTensor transposed({3, 2}, {1, 3});
  TensorView view(transposed.dl, "x");
  EXPECT_FALSE(view.contiguous());
  auto [code, message] = error_of([&] { view.expect_cpu(dtype_of<float>(), 2); });
  EXPECT_EQ(code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(message, "x: must be contiguous");
}

TEST_F(SdkTensor, DeviceTensorIsUnsupported) {
  LocalTensor t({2, 2});
  t.dl.device = {kDLCUDA, 0};
  auto [code, message] = error_of([&] { TensorView(t.dl, "x").expect_cpu(dtype_of<float>(), 2); });
  EXPECT_EQ(code, LMF_ERR_UNSUPPORTED);
  EXPECT_NE(message.find("x: only CPU tensors"), std::string::npos) << message;
}

TEST_F(SdkTensor, CheckFailureBecomesAStatusThroughGuard) {
  LocalTensor t({4});
  Taken status = take(guard([&] { TensorView(t.dl, "scales").expect_cpu(dtype_of<float>(), 2); }));
  EXPECT_EQ(status.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(status.message, "scales: expected 2 dimensions, got 1");
}

TEST_F(SdkTensor, DataHonoursTheByteOffset) {
  LocalTensor t({4});
  t.values = {1.0f, 2.0f, 3.0f, 4.0f};
  t.dl.data = t.values.data();
  t.dl.byte_offset = 2 * sizeof(float);
  EXPECT_EQ(TensorView(t.dl, "x").data<float>()[0], 3.0f);
}

TEST_F(SdkTensor, DtypeNames) {
  EXPECT_EQ(dtype_name(dtype_of<float>()), "float32");
  EXPECT_EQ(dtype_name(dtype_of<int64_t>()), "int64");
  EXPECT_EQ(dtype_name(dtype_of<uint8_t>()), "uint8");
  EXPECT_EQ(dtype_name(DLDataType{kDLBfloat, 16, 1}), "bfloat16");
  EXPECT_EQ(dtype_name(DLDataType{kDLFloat, 16, 4}), "float16x4");
}

TEST_F(SdkTensor, HostTensorIsZeroedContiguousAndFreedOnce) {
  ManagedTensor tensor = make_cpu_tensor(dtype_of<float>(), {3, 5});
  ASSERT_TRUE(tensor);
  TensorView view(tensor.tensor(), "made");
  EXPECT_NO_THROW(view.expect_cpu(dtype_of<float>(), 2));
  EXPECT_EQ(view.numel(), 15);
  for (int64_t i = 0; i < view.numel(); ++i) EXPECT_EQ(view.data<float>()[i], 0.0f);

  ManagedTensor moved = std::move(tensor);
  EXPECT_FALSE(tensor);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
  EXPECT_TRUE(moved);
  moved.reset();
  EXPECT_FALSE(moved);
}

TEST_F(SdkTensor, ManagedTensorCallsTheDeleterOnce) {
  static int deleted = 0;
  deleted = 0;
  {
    DLManagedTensor managed{};
    managed.deleter = [](DLManagedTensor*) { ++deleted; };
    ManagedTensor owner(&managed);
    ManagedTensor other = std::move(owner);
    ManagedTensor third;
    third = std::move(other);
  }
  EXPECT_EQ(deleted, 1);
}

TEST_F(SdkTensor, NegativeExtentIsAnError) {
  auto [code, message] = error_of([] { make_cpu_tensor(dtype_of<float>(), {2, -1}); });
  EXPECT_EQ(code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_NE(message.find("-1"), std::string::npos) << message;
}

}  // namespace
}  // namespace lmf::sdk::testing
