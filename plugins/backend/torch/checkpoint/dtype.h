// The element types of safetensors files: their names in the header, their sizes, and the
// order the reference Rust crate sorts them in when it lays out a file (Note [Tensor order]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lmf::checkpoint {

// Declared in the order of the Rust crate's `Dtype` enum (safetensors/src/tensor.rs),
// which is "increasing alignment": the writer relies on it (Note [Tensor order]). The crate
// also knows F4, F6_E2M3, F6_E3M2, F8_E8M0 and C64; this library refuses those by name.
enum class DType : uint8_t {
  BOOL,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  F64,
  I64,
  U64,
};

struct DTypeInfo {
  DType dtype;
  std::string_view name;  // as the header spells it
  size_t size;            // bytes per element
};

// Every supported dtype, in enum order.
std::span<const DTypeInfo> all_dtypes();

std::string_view dtype_name(DType dtype);
size_t dtype_size(DType dtype);
std::optional<DType> parse_dtype(std::string_view name);

// "F64, F32, ..." for messages that list what is accepted.
std::string supported_dtype_names();

// product(shape) × dtype_size(dtype), or nothing when a dimension is negative or the
// product overflows 64 bits.
std::optional<uint64_t> tensor_byte_size(DType dtype, std::span<const int64_t> shape);

// "[2, 3]": a shape as messages print it.
std::string shape_to_string(std::span<const int64_t> shape);

}  // namespace lmf::checkpoint
