#include "stages/near_dedup.h"

#include "text/hash.h"

#include <algorithm>

namespace lmf::data {

namespace {

LshShape shape_of(const NearDedupOptions& options) {
  if (options.bands > 0 && options.rows > 0) return {options.bands, options.rows};
  return optimal_lsh_shape(options.threshold, options.minhash.num_perm);
}

const char* unit_name(ShingleUnit unit) {
  switch (unit) {
    case ShingleUnit::chars:
      return "char";
    case ShingleUnit::words:
      return "word";
    default:
      return "auto";
  }
}

}  // namespace

LshIndex::LshIndex(LshShape shape, std::size_t num_perm, bool keep_signatures)
    : shape_(shape), num_perm_(num_perm), keep_signatures_(keep_signatures) {}

uint64_t LshIndex::band_key(const std::vector<uint32_t>& signature, std::size_t band) const {
  return hash64(signature.data() + band * shape_.rows, shape_.rows * sizeof(uint32_t), band);
}

std::vector<uint32_t> LshIndex::candidates(const std::vector<uint32_t>& signature) const {
  std::vector<uint32_t> out;
  for (std::size_t band = 0; band < shape_.bands; ++band) {
    const auto head = heads_.find(band_key(signature, band));
    if (head == heads_.end()) continue;
    for (uint32_t at = head->second; at != 0; at = entries_[at - 1].next)
      out.push_back(entries_[at - 1].document);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const uint32_t* LshIndex::signature_of(uint32_t document) const {
  return keep_signatures_ ? signatures_.data() + std::size_t{document} * num_perm_ : nullptr;
}

uint32_t LshIndex::add(const std::vector<uint32_t>& signature) {
  const uint32_t document = documents_++;
  for (std::size_t band = 0; band < shape_.bands; ++band) {
    uint32_t& head = heads_[band_key(signature, band)];
    entries_.push_back({document, head});
    head = static_cast<uint32_t>(entries_.size());
  }
  if (keep_signatures_) signatures_.insert(signatures_.end(), signature.begin(), signature.end());
  return document;
}

void LshIndex::clear() {
  documents_ = 0;
  heads_ = {};
  entries_ = {};
  signatures_ = {};
}

NearDedup::NearDedup(const NearDedupOptions& options)
    : Stage("near_dedup", {"near_duplicate"}),
      options_(options),
      hasher_(options.minhash),
      shape_(shape_of(options)),
      index_(shape_, options.minhash.num_perm, options.verify) {}

Verdict NearDedup::process(Record& record, Tally&) const {
  record.signature = hasher_.signature(record.text());
  return Verdict::keep;
}

Verdict NearDedup::decide(Record& record, Tally& tally) {
  const std::vector<uint32_t> signature = std::move(record.signature);
  record.signature = {};
  if (signature.empty()) return Verdict::keep;  // no token: nothing to compare
  for (uint32_t candidate : index_.candidates(signature)) {
    bool similar = true;
    if (options_.verify) {
      const uint32_t* other = index_.signature_of(candidate);
      std::size_t equal = 0;
      for (std::size_t i = 0; i < signature.size(); ++i) equal += signature[i] == other[i];
      similar =
          static_cast<double>(equal) >= options_.threshold * static_cast<double>(signature.size());
    }
    if (similar) {
      ++tally.dropped;
      ++tally.reasons[0];
      return Verdict::drop;
    }
  }
  index_.add(signature);
  return Verdict::keep;
}

nlohmann::json NearDedup::params() const {
  return {{"threshold", options_.threshold},
          {"num_perm", options_.minhash.num_perm},
          {"shingle", unit_name(options_.minhash.unit)},
          {"shingle_size", options_.minhash.shingle_size},
          {"seed", options_.minhash.seed},
          {"bands", shape_.bands},
          {"rows", shape_.rows},
          {"verify", options_.verify},
          {"catch_probability_at_threshold", lsh_catch_probability(options_.threshold, shape_)}};
}

}  // namespace lmf::data
