// A minimal protocol buffers wire-format encoder: enough to write TensorBoard's Event
// messages by hand (Note [TensorBoard without protobuf] in tensorboard_event.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lmf::services::protobuf {

// Each function appends one field (its key, then its value) to `out`, in the encoding
// https://protobuf.dev/programming-guides/encoding/ describes. Field numbers are 1-based.

// int64 (wire type 0, varint); a negative value takes ten bytes, as protobuf writes it.
void append_int64(std::string& out, std::uint32_t field, std::int64_t value);
// double (wire type 1, 8 bytes little-endian).
void append_double(std::string& out, std::uint32_t field, double value);
// float (wire type 5, 4 bytes little-endian).
void append_float(std::string& out, std::uint32_t field, float value);
// string, bytes or an embedded message already encoded (wire type 2, length-prefixed).
void append_bytes(std::string& out, std::uint32_t field, std::string_view bytes);

// The building block of the above: base-128 varint, low groups first.
void append_varint(std::string& out, std::uint64_t value);

}  // namespace lmf::services::protobuf
