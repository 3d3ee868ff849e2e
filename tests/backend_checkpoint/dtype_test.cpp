// The dtype table against the Rust crate's `Dtype` (safetensors/src/tensor.rs): names,
// element sizes, and the declaration order the writer sorts by.
#include "checkpoint/dtype.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lmf::checkpoint {
namespace {

TEST(CheckpointDType, NamesAndSizesAreTheCratesInItsOrder) {
  // The crate's enum, in declaration order, without the types this library refuses
  // (F4, F6_E2M3, F6_E3M2, F8_E8M0, C64), with bitsize() / 8.
  const std::vector<std::pair<std::string, size_t>> expected = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
      {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
      {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};
  ASSERT_EQ(all_dtypes().size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const DTypeInfo& info = all_dtypes()[i];
    EXPECT_EQ(info.name, expected[i].first);
    EXPECT_EQ(info.size, expected[i].second) << expected[i].first;
    EXPECT_EQ(static_cast<size_t>(info.dtype), i) << expected[i].first;
    EXPECT_EQ(parse_dtype(expected[i].first), info.dtype);
    EXPECT_EQ(dtype_name(info.dtype), expected[i].first);
    EXPECT_EQ(dtype_size(info.dtype), expected[i].second);
  }
}

TEST(CheckpointDType, UnknownAndLowerCaseNamesAreNotDtypes) {
  EXPECT_FALSE(parse_dtype("f32"));
  EXPECT_FALSE(parse_dtype("float32"));
  EXPECT_FALSE(parse_dtype("F4"));
  EXPECT_FALSE(parse_dtype(""));
}

TEST(CheckpointDType, ByteSizeIsElementsTimesElementSize) {
  const std::vector<int64_t> matrix = {3, 5};
  EXPECT_EQ(tensor_byte_size(DType::BF16, matrix), 30u);
  EXPECT_EQ(tensor_byte_size(DType::F64, std::vector<int64_t>{}), 8u);  // a scalar
  EXPECT_EQ(tensor_byte_size(DType::F32, std::vector<int64_t>{4, 0, 7}), 0u);
}

TEST(CheckpointDType, ByteSizeRefusesNegativeDimensionsAndOverflow) {
  EXPECT_FALSE(tensor_byte_size(DType::F32, std::vector<int64_t>{2, -1}));
  EXPECT_FALSE(tensor_byte_size(DType::U8, std::vector<int64_t>{1LL << 32, 1LL << 32}));
  // 2^62 elements fit in 64 bits, 2^62 × 4 bytes do not.
  EXPECT_FALSE(tensor_byte_size(DType::F32, std::vector<int64_t>{1LL << 62}));
  EXPECT_EQ(tensor_byte_size(DType::U8, std::vector<int64_t>{1LL << 62}), 1ULL << 62);
}

TEST(CheckpointDType, ShapesPrintAsLists) {
  EXPECT_EQ(shape_to_string(std::vector<int64_t>{2, 3}), "[2, 3]");
  EXPECT_EQ(shape_to_string(std::vector<int64_t>{}), "[]");
}

}  // namespace
}  // namespace lmf::checkpoint
