#include "text/hash.h"

namespace lmf::data {

namespace {

uint64_t load_le64(const unsigned char* p) noexcept {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

}  // namespace

uint64_t hash64(const void* data, std::size_t size, uint64_t seed) noexcept {
  constexpr uint64_t m = 0xC6A4A7935BD1E995ull;
  constexpr int r = 47;
  const unsigned char* bytes = static_cast<const unsigned char*>(data);
  uint64_t h = seed ^ (static_cast<uint64_t>(size) * m);
  const std::size_t blocks = size / 8;
  for (std::size_t i = 0; i < blocks; ++i) {
    uint64_t k = load_le64(bytes + 8 * i);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const unsigned char* tail = bytes + 8 * blocks;
  switch (size & 7) {
    case 7:
      h ^= static_cast<uint64_t>(tail[6]) << 48;
      [[fallthrough]];
    case 6:
      h ^= static_cast<uint64_t>(tail[5]) << 40;
      [[fallthrough]];
    case 5:
      h ^= static_cast<uint64_t>(tail[4]) << 32;
      [[fallthrough]];
    case 4:
      h ^= static_cast<uint64_t>(tail[3]) << 24;
      [[fallthrough]];
    case 3:
      h ^= static_cast<uint64_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint64_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint64_t>(tail[0]);
      h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

}  // namespace lmf::data
