// 64-bit hashing for deduplication: the same value on every platform and run, so that a
// resumed or repeated run drops exactly the same records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lmf::data {

// MurmurHash64A (Austin Appleby, public domain), bytes read little-endian.
uint64_t hash64(const void* data, std::size_t size, uint64_t seed = 0) noexcept;
inline uint64_t hash64(std::string_view text, uint64_t seed = 0) noexcept {
  return hash64(text.data(), text.size(), seed);
}

// The SplitMix64 finalizer: a bijective 64-bit mixer.
constexpr uint64_t mix64(uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

}  // namespace lmf::data
