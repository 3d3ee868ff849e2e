// Near-duplicate removal: MinHash signatures (computed in parallel) and an LSH index
// (consulted serially, in record order) (Note [MinHash and LSH]).
#pragma once

#include "stages/minhash.h"
#include "stages/stage.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace lmf::data {

struct NearDedupOptions {
  double threshold = 0.8;
  MinHashOptions minhash;
  std::size_t bands = 0, rows = 0;  // 0: optimal_lsh_shape
  bool verify = true;
};

// Memory per kept record: one index entry per band (8 bytes, plus about 40 for the hash
// map's node when the bucket is new) and, with verify, num_perm 4-byte values: about 1.2 KB
// with the defaults (14 bands, 128 permutations), 1.2 GB per million kept records.
class LshIndex {
 public:
  LshIndex(LshShape shape, std::size_t num_perm, bool keep_signatures);
  // Kept records whose signature shares a band with `signature` (each once, oldest first).
  std::vector<uint32_t> candidates(const std::vector<uint32_t>& signature) const;
  const uint32_t* signature_of(uint32_t document) const;
  // Adds a kept record; returns its document number.
  uint32_t add(const std::vector<uint32_t>& signature);
  void clear();

 private:
  uint64_t band_key(const std::vector<uint32_t>& signature, std::size_t band) const;
  LshShape shape_;
  std::size_t num_perm_;
  bool keep_signatures_;
  uint32_t documents_ = 0;
  std::unordered_map<uint64_t, uint32_t> heads_;  // band key -> last entry + 1
  struct Entry {
    uint32_t document, next;  // next: the bucket's previous entry + 1, 0 at its end
  };
  std::vector<Entry> entries_;
  std::vector<uint32_t> signatures_;
};

class NearDedup final : public Stage {
 public:
  explicit NearDedup(const NearDedupOptions& options);
  Verdict process(Record& record, Tally& tally) const override;
  bool stateful() const override { return true; }
  Verdict decide(Record& record, Tally& tally) override;
  void reset() override { index_.clear(); }
  nlohmann::json params() const override;
  const LshShape& shape() const { return shape_; }

 private:
  NearDedupOptions options_;
  MinHasher hasher_;
  LshShape shape_;
  LshIndex index_;
};

}  // namespace lmf::data
