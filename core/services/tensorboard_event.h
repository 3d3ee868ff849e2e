// TensorBoard's Event messages (tensorboard/compat/proto/event.proto), encoded by hand.
//
// Note [TensorBoard without protobuf]: the host writes two kinds of Event — the file's
// version stamp and one scalar per metric point — so a dozen lines of wire format
// (protobuf_wire.h) replace a dependency on protobuf and its generated code. The fields:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3;
//             Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; }
// TensorBoard reads `simple_value` as a legacy scalar and shows it under Scalars.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lmf::services::tensorboard {

// "brain.Event:2": the first event of every file, which readers use to recognize it.
inline constexpr std::string_view kFileVersion = "brain.Event:2";

// The serialized Event {wall_time, file_version: "brain.Event:2"}.
std::string encode_file_version_event(double wall_time);

// The serialized Event {wall_time, step, summary {value {tag, simple_value}}}. The value is
// narrowed to float (TensorBoard's scalar type): beyond float's range it becomes infinite.
std::string encode_scalar_event(double wall_time, std::int64_t step, std::string_view tag,
                                double value);

}  // namespace lmf::services::tensorboard
