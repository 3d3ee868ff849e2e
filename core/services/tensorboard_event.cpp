#include "core/services/tensorboard_event.h"

#include "core/services/protobuf_wire.h"

#include <cmath>
#include <limits>

namespace lmf::services::tensorboard {
namespace {

// Field numbers of Note [TensorBoard without protobuf].
constexpr std::uint32_t kEventWallTime = 1;
constexpr std::uint32_t kEventStep = 2;
constexpr std::uint32_t kEventFileVersion = 3;
constexpr std::uint32_t kEventSummary = 5;
constexpr std::uint32_t kSummaryValue = 1;
constexpr std::uint32_t kValueTag = 1;
constexpr std::uint32_t kValueSimpleValue = 2;

// Out-of-range double-to-float conversion is undefined behaviour in C++; IEEE says infinity.
float to_float(double value) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (std::isnan(value)) return std::numeric_limits<float>::quiet_NaN();
  if (value > kMax) return std::numeric_limits<float>::infinity();
  if (value < -kMax) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(value);
}

}  // namespace

std::string encode_file_version_event(double wall_time) {
  std::string event;
  protobuf::append_double(event, kEventWallTime, wall_time);
  protobuf::append_bytes(event, kEventFileVersion, kFileVersion);
  return event;
}

std::string encode_scalar_event(double wall_time, std::int64_t step, std::string_view tag,
                                double value) {
  std::string summary_value;
  protobuf::append_bytes(summary_value, kValueTag, tag);
  protobuf::append_float(summary_value, kValueSimpleValue, to_float(value));
  std::string summary;
  protobuf::append_bytes(summary, kSummaryValue, summary_value);

  std::string event;
  protobuf::append_double(event, kEventWallTime, wall_time);
  protobuf::append_int64(event, kEventStep, step);
  protobuf::append_bytes(event, kEventSummary, summary);
  return event;
}

}  // namespace lmf::services::tensorboard
