#include "core/services/protobuf_wire.h"

#include <bit>

namespace lmf::services::protobuf {
namespace {

enum WireType : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

void append_key(std::string& out, std::uint32_t field, WireType type) {
  append_varint(out, (static_cast<std::uint64_t>(field) << 3) | type);
}

template <typename Unsigned>
void append_little_endian(std::string& out, Unsigned value) {
  for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
    out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
  }
}

}  // namespace

void append_varint(std::string& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_int64(std::string& out, std::uint32_t field, std::int64_t value) {
  append_key(out, field, varint);
  append_varint(out, static_cast<std::uint64_t>(value));  // two's complement, not zigzag
}

void append_double(std::string& out, std::uint32_t field, double value) {
  append_key(out, field, fixed64);
  append_little_endian(out, std::bit_cast<std::uint64_t>(value));
}

void append_float(std::string& out, std::uint32_t field, float value) {
  append_key(out, field, fixed32);
  append_little_endian(out, std::bit_cast<std::uint32_t>(value));
}

void append_bytes(std::string& out, std::uint32_t field, std::string_view bytes) {
  append_key(out, field, length_delimited);
  append_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace lmf::services::protobuf
