// Exact deduplication on a 64-bit hash of the normalized text (Note [Exact duplicates]).
#pragma once

#include "stages/stage.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::data {

// Note [Exact duplicates]
// The key of a record is hash64 of its rendered text after case folding (Unicode, with
// ignore_case) and with all white space removed (with ignore_whitespace), so "Hello
// World" and "hello  world" are duplicates. The first record with a key is kept, later
// ones are dropped ("duplicate"): a serial decision in record order, so the same records
// are kept whatever the thread count. Memory: one 8-byte key per kept record in an
// open-addressing table kept at most half full, 16–32 bytes per kept record (16 to 32 MB
// per million). Two different texts share a key with probability about n²/2^65: 3e-8 for
// a million records, 3e-4 for a hundred million.
std::string dedup_key_text(std::string_view text, bool ignore_case, bool ignore_whitespace);

// A set of 64-bit keys (open addressing, linear probing).
class KeySet {
 public:
  // Inserts `key`; false when it was there already.
  bool insert(uint64_t key);
  std::size_t size() const { return size_; }
  void clear();

 private:
  void grow();
  std::vector<uint64_t> slots_;  // 0 = empty; key 0 is stored as 1
  std::size_t size_ = 0;
};

class ExactDedup final : public Stage {
 public:
  ExactDedup(bool ignore_case, bool ignore_whitespace);
  Verdict process(Record& record, Tally& tally) const override;
  bool stateful() const override { return true; }
  Verdict decide(Record& record, Tally& tally) override;
  void reset() override { seen_.clear(); }
  nlohmann::json params() const override;

 private:
  bool ignore_case_, ignore_whitespace_;
  KeySet seen_;
};

}  // namespace lmf::data
