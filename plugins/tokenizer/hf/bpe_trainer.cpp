#include "bpe_trainer.h"

#include "byte_level.h"
#include "flat_maps.h"
#include "utf8.h"

#include <lmf/sdk/error.h>

#include <algorithm>
#include <array>
#include <queue>

namespace lmf::tokenizers::hf {
namespace {

// Note [Training as HF trains]
// The merges are those of Hugging Face tokenizers' BpeTrainer (0.22,
// tokenizers/src/models/bpe/trainer.rs and word.rs), rule for rule: where two choices are
// equally good, another rule gives another vocabulary.
// - Ids: the special tokens first, then the alphabet sorted by the code point of each
//   byte's byte-level character (so "Ġ", the space, comes after "~"), then every new
//   token when it is first made. A token made again keeps its id.
// - The next merge is the pair with the highest count; among equal counts, the pair with
//   the smallest (left id, right id). Ids, not text: a merged token sorts by when it was
//   made.
// - Counts change incrementally. Merging a pair in a word reports -1 for the pairs it
//   breaks and +1 for those it makes, occurrence by occurrence, left to right (HF's
//   Word::merge; in "aaa" merging "a a" breaks the second "a a"); the merged pair's own
//   count is left as it is.
// - A queue entry carries the words where its pair was counted, or made by one merge. An
//   entry whose count is out of date goes back with the current count; a merge visits only
//   its entry's words. A pair made in several rounds thus has several entries and can be
//   merged twice, giving the same token: HF keeps the later rank, and so do we.
// - Training stops at vocab_size tokens, when the queue is empty, or when the best count
//   is zero or below min_frequency.
// One thread applies the merges; no result depends on the order of updates.

using Pair = uint64_t;
constexpr Pair pair_of(uint32_t left, uint32_t right) {
  return (Pair{left} << 32) | right;
}
constexpr uint32_t left_of(Pair pair) {
  return static_cast<uint32_t>(pair >> 32);
}
constexpr uint32_t right_of(Pair pair) {
  return static_cast<uint32_t>(pair);
}

// Pair -> int64 by open addressing, never shrinking (the pairs of a corpus are few
// compared with its text).
class PairTable {
 public:
  PairTable() { resize(16); }

  int64_t& operator[](Pair pair) {
    if ((size_ + 1) * 2 > slots_.size()) resize(bits_ + 1);
    Slot& slot = slots_[find_slot(pair)];
    if (slot.pair == kEmpty) {
      slot.pair = pair;
      ++size_;
    }
    return slot.value;
  }
  int64_t get(Pair pair) const {
    const Slot& slot = slots_[find_slot(pair)];
    return slot.pair == kEmpty ? 0 : slot.value;
  }

 private:
  static constexpr Pair kEmpty = ~Pair{0};  // ids are below 2^31, so no pair is this
  struct Slot {
    Pair pair = kEmpty;
    int64_t value = 0;
  };
  size_t find_slot(Pair pair) const {
    size_t i = static_cast<size_t>((pair * 0x9E3779B97F4A7C15ULL) >> (64 - bits_));
    while (slots_[i].pair != kEmpty && slots_[i].pair != pair) i = (i + 1) & (slots_.size() - 1);
    return i;
  }
  void resize(unsigned bits) {
    std::vector<Slot> old = std::move(slots_);
    bits_ = bits;
    slots_.assign(size_t{1} << bits, Slot{});
    for (const Slot& slot : old)
      if (slot.pair != kEmpty) slots_[find_slot(slot.pair)] = slot;
  }

  std::vector<Slot> slots_;
  unsigned bits_ = 0;
  size_t size_ = 0;
};

// The distinct words as symbol ids in one buffer; a merge shrinks a word in place.
class Words {
 public:
  void add(const std::vector<uint32_t>& symbols, uint64_t count) {
    begin_.push_back(symbols_.size());
    length_.push_back(static_cast<uint32_t>(symbols.size()));
    count_.push_back(count);
    symbols_.insert(symbols_.end(), symbols.begin(), symbols.end());
  }
  size_t size() const { return count_.size(); }
  uint64_t count(uint32_t word) const { return count_[word]; }
  const uint32_t* symbols(uint32_t word) const { return symbols_.data() + begin_[word]; }
  uint32_t length(uint32_t word) const { return length_[word]; }

  // HF's Word::merge: every (left, right), left to right, becomes `merged`;
  // on_change(pair, ±1) for each pair broken or made (Note [Training as HF trains]).
  template <class OnChange>
  void merge(uint32_t word, uint32_t left, uint32_t right, uint32_t merged, OnChange&& on_change) {
    uint32_t* s = symbols_.data() + begin_[word];
    const uint32_t n = length_[word];
    uint32_t out = 0;
    for (uint32_t in = 0; in < n;) {
      if (s[in] != left || in + 1 >= n || s[in + 1] != right) {
        s[out++] = s[in++];
        continue;
      }
      if (out > 0) {
        on_change(pair_of(s[out - 1], left), -1);
        on_change(pair_of(s[out - 1], merged), +1);
      }
      s[out++] = merged;
      in += 2;
      if (in < n) {
        on_change(pair_of(right, s[in]), -1);
        on_change(pair_of(merged, s[in]), +1);
      }
    }
    length_[word] = out;
  }

 private:
  std::vector<uint32_t> symbols_;
  std::vector<size_t> begin_;
  std::vector<uint32_t> length_;
  std::vector<uint64_t> count_;
};

// A queue entry: a pair, its count when queued, and the list of words to visit.
struct Candidate {
  uint64_t count;
  Pair pair;
  uint32_t words;  // index into Training::word_lists_
};
// priority_queue keeps the greatest on top: the highest count, then the smallest pair.
struct CandidateOrder {
  bool operator()(const Candidate& a, const Candidate& b) const {
    if (a.count != b.count) return a.count < b.count;
    return a.pair > b.pair;
  }
};

// Steps between two progress reports and cancellation checks.
constexpr uint32_t kReportEvery = 64;

class Training {
 public:
  Training(const BpeTrainerOptions& options, TrainingMonitor& monitor)
      : options_(options), monitor_(monitor) {}

  TrainedBpe run(const WordCounts& counts) {
    for (const std::string& special : options_.special_tokens) add_token(special);
    trained_.special_count = trained_.tokens.size();
    add_alphabet(counts);
    trained_.alphabet_count = trained_.tokens.size() - trained_.special_count;
    if (options_.vocab_size < trained_.tokens.size())
      lmf::sdk::fail(LMF_ERR_INVALID_ARGUMENT,
                     "vocab_size " + std::to_string(options_.vocab_size) + " is smaller than the " +
                         std::to_string(trained_.special_count) + " special tokens and " +
                         std::to_string(trained_.alphabet_count) + " byte symbols it must hold (" +
                         std::to_string(trained_.tokens.size()) + ")");
    add_words(counts);
    count_pairs();
    merge_until_done();
    trained_.merges = ranked_merges();
    return std::move(trained_);
  }

 private:
  uint32_t add_token(const std::string& text) {
    const int32_t known = ids_.find(text);
    if (known >= 0) return static_cast<uint32_t>(known);
    const auto id = static_cast<uint32_t>(trained_.tokens.size());
    trained_.tokens.push_back(text);
    ids_.insert(text, static_cast<int32_t>(id));
    return id;
  }

  void add_alphabet(const WordCounts& counts) {
    std::array<bool, 256> used{};
    if (options_.byte_alphabet) {
      used.fill(true);
    } else {
      for (const auto& [word, count] : counts)
        for (char c : word) used[static_cast<uint8_t>(c)] = true;
    }
    const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::get();
    std::vector<std::pair<char32_t, uint8_t>> by_code_point;
    for (int byte = 0; byte < 256; ++byte) {
      if (!used[byte]) continue;
      size_t at = 0;
      by_code_point.emplace_back(next_code_point(alphabet.text_of(uint8_t(byte)), at),
                                 uint8_t(byte));
    }
    std::sort(by_code_point.begin(), by_code_point.end());
    for (const auto& [code_point, byte] : by_code_point)
      symbol_of_byte_[byte] = add_token(std::string(alphabet.text_of(byte)));
  }

  void add_words(const WordCounts& counts) {
    // Sorted, so that the order of the queue's equal entries never depends on hashing.
    std::vector<const WordCounts::value_type*> sorted;
    sorted.reserve(counts.size());
    for (const auto& entry : counts) sorted.push_back(&entry);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    std::vector<uint32_t> symbols;
    for (const auto* entry : sorted) {
      symbols.clear();
      for (char c : entry->first) symbols.push_back(symbol_of_byte_[static_cast<uint8_t>(c)]);
      words_.add(symbols, entry->second);
    }
  }

  uint32_t new_word_list() {
    if (!free_lists_.empty()) {
      const uint32_t index = free_lists_.back();
      free_lists_.pop_back();
      return index;
    }
    word_lists_.emplace_back();
    return static_cast<uint32_t>(word_lists_.size() - 1);
  }

  void count_pairs() {
    PairTable list_of;  // pair -> 1 + its index in word_lists_
    std::vector<Pair> order;
    for (uint32_t w = 0; w < words_.size(); ++w) {
      const uint32_t* s = words_.symbols(w);
      for (uint32_t i = 0; i + 1 < words_.length(w); ++i) {
        const Pair pair = pair_of(s[i], s[i + 1]);
        counts_[pair] += static_cast<int64_t>(words_.count(w));
        int64_t& list = list_of[pair];
        if (list == 0) {
          list = 1 + new_word_list();
          order.push_back(pair);
        }
        std::vector<uint32_t>& where = word_lists_[list - 1];
        if (where.empty() || where.back() != w) where.push_back(w);
      }
    }
    for (Pair pair : order) {
      const int64_t count = counts_.get(pair);
      if (count > 0)
        queue_.push(
            {static_cast<uint64_t>(count), pair, static_cast<uint32_t>(list_of.get(pair) - 1)});
    }
  }

  void merge_until_done() {
    const int64_t budget =
        static_cast<int64_t>(options_.vocab_size) - static_cast<int64_t>(trained_.tokens.size());
    monitor_.begin("tokenizer train: merges", budget, "tokens");
    size_t reported = trained_.tokens.size();
    uint32_t steps = 0;
    bool rarer_than_min_frequency = false;
    while (trained_.tokens.size() < options_.vocab_size && !queue_.empty()) {
      Candidate top = queue_.top();
      queue_.pop();
      const int64_t current = counts_.get(top.pair);
      if (top.count != static_cast<uint64_t>(current)) {
        top.count = static_cast<uint64_t>(current);
        queue_.push(top);
        continue;
      }
      if (top.count < 1) break;
      if (top.count < options_.min_frequency) {
        rarer_than_min_frequency = true;
        break;
      }
      merge(top);
      if (++steps % kReportEvery == 0) {
        monitor_.advance(static_cast<int64_t>(trained_.tokens.size() - reported));
        reported = trained_.tokens.size();
        if (monitor_.cancelled())
          lmf::sdk::fail(LMF_ERR_CANCELLED, "tokenizer training cancelled after " +
                                                std::to_string(merges_.size()) + " merges");
      }
    }
    monitor_.advance(static_cast<int64_t>(trained_.tokens.size() - reported));
    monitor_.end();
    trained_.stop = trained_.tokens.size() >= options_.vocab_size ? TrainingStop::kVocabularyFull
                    : rarer_than_min_frequency                    ? TrainingStop::kMinFrequency
                                                                  : TrainingStop::kNothingToMerge;
  }

  void merge(const Candidate& top) {
    const uint32_t left = left_of(top.pair), right = right_of(top.pair);
    const uint32_t merged = add_token(trained_.tokens[left] + trained_.tokens[right]);
    merges_.emplace_back(top.pair, merged);

    const std::vector<uint32_t> visit = std::move(word_lists_[top.words]);
    word_lists_[top.words] = {};
    free_lists_.push_back(top.words);
    made_.clear();
    for (uint32_t w : visit) {
      const auto count = static_cast<int64_t>(words_.count(w));
      words_.merge(w, left, right, merged, [&](Pair pair, int change) {
        counts_[pair] += change * count;
        if (change > 0) made_.emplace_back(pair, w);
      });
    }
    // One new entry per pair this merge made, with the words where it made it.
    std::sort(made_.begin(), made_.end());
    made_.erase(std::unique(made_.begin(), made_.end()), made_.end());
    for (size_t i = 0; i < made_.size();) {
      const Pair pair = made_[i].first;
      size_t end = i;
      while (end < made_.size() && made_[end].first == pair) ++end;
      const int64_t count = counts_.get(pair);
      if (count > 0) {
        const uint32_t list = new_word_list();
        for (size_t k = i; k < end; ++k) word_lists_[list].push_back(made_[k].second);
        queue_.push({static_cast<uint64_t>(count), pair, list});
      }
      i = end;
    }
  }

  // HF's model keeps one rank per pair, the last it was merged at.
  std::vector<std::pair<int32_t, int32_t>> ranked_merges() const {
    std::vector<std::pair<int32_t, int32_t>> ranked;
    PairTable seen;
    for (size_t i = merges_.size(); i-- > 0;) {
      int64_t& was_seen = seen[merges_[i].first];
      if (was_seen != 0) continue;
      was_seen = 1;
      ranked.emplace_back(left_of(merges_[i].first), right_of(merges_[i].first));
    }
    std::reverse(ranked.begin(), ranked.end());
    return ranked;
  }

  const BpeTrainerOptions& options_;
  TrainingMonitor& monitor_;
  TrainedBpe trained_;
  StringIdMap ids_;
  std::array<uint32_t, 256> symbol_of_byte_{};
  Words words_;
  PairTable counts_;
  std::vector<std::vector<uint32_t>> word_lists_;
  std::vector<uint32_t> free_lists_;
  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> queue_;
  std::vector<std::pair<Pair, uint32_t>> merges_;  // (pair, merged id) in the order made
  std::vector<std::pair<Pair, uint32_t>> made_;    // (pair, word) made by the current merge
};

}  // namespace

TrainedBpe train_bpe(const WordCounts& words, const BpeTrainerOptions& options,
                     TrainingMonitor& monitor) {
  return Training(options, monitor).run(words);
}

}  // namespace lmf::tokenizers::hf
