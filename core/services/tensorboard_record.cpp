#include "core/services/tensorboard_record.h"

#include <boost/crc.hpp>

namespace lmf::services::tensorboard {
namespace {

// Reflected CRC-32C with the usual initial value and final xor: CRC32C("123456789") is
// 0xE3069283.
using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

constexpr std::uint32_t kMaskDelta = 0xa282ead8u;

void append_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

std::uint32_t crc32c(std::string_view bytes) {
  Crc32c crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

std::uint32_t masked_crc32c(std::string_view bytes) {
  const std::uint32_t crc = crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}

std::string frame_record(std::string_view data) {
  std::string length;
  const std::uint64_t size = data.size();
  for (int i = 0; i < 8; ++i) length.push_back(static_cast<char>((size >> (8 * i)) & 0xFF));

  std::string record;
  record.reserve(data.size() + 16);
  record += length;
  append_u32(record, masked_crc32c(length));
  record.append(data);
  append_u32(record, masked_crc32c(data));
  return record;
}

}  // namespace lmf::services::tensorboard
