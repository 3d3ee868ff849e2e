#include "checkpoint/dtype.h"

#include <array>

namespace lmf::checkpoint {
namespace {

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::BOOL, "BOOL", 1},
    {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::I16, "I16", 2},
    {DType::U16, "U16", 2},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4},
    {DType::U32, "U32", 4},
    {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},
    {DType::I64, "I64", 8},
    {DType::U64, "U64", 8},
}};

constexpr bool table_follows_enum() {
  for (size_t i = 0; i < kDTypes.size(); ++i) {
    if (static_cast<size_t>(kDTypes[i].dtype) != i) return false;
  }
  return true;
}
static_assert(table_follows_enum(), "kDTypes must list the dtypes in enum order");

const DTypeInfo& info(DType dtype) {
  return kDTypes[static_cast<size_t>(dtype)];
}

}  // namespace

std::span<const DTypeInfo> all_dtypes() {
  return kDTypes;
}

std::string_view dtype_name(DType dtype) {
  return info(dtype).name;
}

size_t dtype_size(DType dtype) {
  return info(dtype).size;
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

std::string supported_dtype_names() {
  std::string names;
  for (const DTypeInfo& entry : kDTypes) {
    if (!names.empty()) names += ", ";
    names += entry.name;
  }
  return names;
}

std::optional<uint64_t> tensor_byte_size(DType dtype, std::span<const int64_t> shape) {
  // Elements first, then bytes: the Rust crate's order, so both overflow on the same shapes.
  uint64_t elements = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(dim), &elements)) {
      return std::nullopt;
    }
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(elements, dtype_size(dtype), &bytes)) return std::nullopt;
  return bytes;
}

std::string shape_to_string(std::span<const int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

}  // namespace lmf::checkpoint
