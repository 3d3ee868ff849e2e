// TFRecord framing, the container of TensorBoard event files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lmf::services::tensorboard {

// CRC-32C (Castagnoli), as TFRecord uses it.
std::uint32_t crc32c(std::string_view bytes);

// Note [TFRecord masked CRC]: TFRecord stores CRCs "masked" — rotated right by 15 bits and
// offset by 0xa282ead8 — because a CRC computed over data that itself holds CRCs is weak
// (TensorFlow's lib/hash/crc32c.h).
std::uint32_t masked_crc32c(std::string_view bytes);

// One record: uint64 length, masked CRC of those 8 bytes, the data, masked CRC of the data;
// integers little-endian.
std::string frame_record(std::string_view data);

}  // namespace lmf::services::tensorboard
