// Per-call scratch memory and the word cache, pooled per tokenizer instance.
//
// Note [Encode from several threads]
// lmf_tokenizer.h lets several threads encode on one instance at once. Everything loaded
// from tokenizer.json is immutable after construction; what an encode call writes (piece
// lists, BPE symbols, PCRE2 match data, the cache of words already split) lives in a
// Workspace. An instance keeps a small pool of them: a call takes a free one with a
// try-lock for its whole duration (one lock per call, none per word) and, when all are
// taken, makes a temporary one. So caches are never shared between running calls, need no
// per-word locking, and each stays bounded.
#pragma once

#include "flat_maps.h"
#include "pieces.h"
#include "regex.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lmf::tokenizers::hf {

// Words already split by the BPE model -> their ids. Bounded: when it holds `capacity`
// words, or kMaxBytes of words and ids, it starts over, which keeps memory flat on any
// input. Words up to 4 KiB are kept (HF keeps up to 256 bytes): a long run that repeats
// (a line of dashes, a base64 blob, a run of CJK characters) is merged once.
class WordCache {
 public:
  explicit WordCache(size_t capacity) : capacity_(capacity) {}

  // The ids of `word`, or an empty span when it is not cached.
  std::span<const int32_t> find(std::string_view word) const {
    if (count_ == 0) return {};
    const uint64_t h = hash_bytes(word);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.id_count == 0) return {};
      if (slot.hash == h && key_of(slot) == word)
        return std::span<const int32_t>(ids_.data() + slot.ids_offset, slot.id_count);
    }
  }
  void insert(std::string_view word, std::span<const int32_t> ids) {
    if (capacity_ == 0 || ids.empty() || word.size() > kMaxWordBytes) return;
    if (slots_.empty()) {
      size_t slots = 16;
      while (slots < capacity_ * 2) slots *= 2;
      slots_.assign(slots, Slot{});
      mask_ = slots - 1;
    }
    if (count_ >= capacity_ || keys_.size() + ids_.size() * sizeof(int32_t) > kMaxBytes) clear();
    const uint64_t h = hash_bytes(word);
    size_t i = h & mask_;
    while (slots_[i].id_count != 0) {
      if (slots_[i].hash == h && key_of(slots_[i]) == word) return;
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{h, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(word.size()),
                     static_cast<uint32_t>(ids_.size()), static_cast<uint32_t>(ids.size())};
    keys_.append(word);
    ids_.insert(ids_.end(), ids.begin(), ids.end());
    ++count_;
  }

 private:
  static constexpr size_t kMaxWordBytes = 4096;
  static constexpr size_t kMaxBytes = size_t{8} << 20;
  struct Slot {
    uint64_t hash = 0;
    uint32_t key_offset = 0, key_length = 0;
    uint32_t ids_offset = 0, id_count = 0;  // id_count 0: empty slot
  };
  std::string_view key_of(const Slot& slot) const {
    return std::string_view(keys_).substr(slot.key_offset, slot.key_length);
  }
  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    keys_.clear();
    ids_.clear();
    count_ = 0;
  }

  size_t capacity_;
  std::vector<Slot> slots_;
  std::string keys_;
  std::vector<int32_t> ids_;
  size_t mask_ = 0, count_ = 0;
};

// One BPE symbol: a token id over a run of the word, linked to its neighbours.
struct BpeSymbol {
  int32_t id;
  int32_t prev, next;
  uint32_t length;  // bytes of the word it covers (0: merged into its left neighbour)
};

struct Workspace {
  explicit Workspace(size_t cache_capacity)
      : match_data(Regex::new_match_data()), cache(cache_capacity) {}
  ~Workspace() { pcre2_match_data_free(match_data); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  PieceList list;
  std::vector<Piece> scratch;  // the next list of pieces while a step splits
  std::vector<Range> ranges;   // matches of a Split pattern
  std::string buffer;          // normalizer and pre-tokenizer output
  pcre2_match_data* match_data;
  WordCache cache;
  std::vector<BpeSymbol> symbols;
  std::vector<uint64_t> queue;  // BPE merge candidates (Note [BPE merge order])
  std::vector<int32_t> word_ids;

  // After a very long text, gives its buffers back, so that a pooled workspace does not
  // hold on to the memory of the largest text it ever saw.
  void release_large_buffers() {
    constexpr size_t kKeep = size_t{64} << 20;
    auto trim = [](auto& held, size_t bytes) {
      if (held.capacity() * sizeof(held[0]) > bytes) {
        held.clear();
        held.shrink_to_fit();
      }
    };
    trim(list.text, kKeep);
    trim(list.pieces, kKeep);
    trim(scratch, kKeep);
    trim(ranges, kKeep);
    trim(buffer, kKeep);
    trim(symbols, kKeep);
    trim(queue, kKeep);
    trim(word_ids, kKeep);
  }
};

class WorkspacePool {
 public:
  WorkspacePool(size_t slots, size_t cache_capacity) {
    slots_.reserve(slots);
    for (size_t i = 0; i < slots; ++i) slots_.push_back(std::make_unique<Slot>(cache_capacity));
  }

  // Holds a workspace for one call.
  class Lease {
   public:
    Lease(Workspace* workspace, std::mutex* lock, std::unique_ptr<Workspace> owned)
        : workspace_(workspace), lock_(lock), owned_(std::move(owned)) {}
    ~Lease() {
      if (lock_ != nullptr) lock_->unlock();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Workspace& operator*() const { return *workspace_; }
    Workspace* operator->() const { return workspace_; }

   private:
    Workspace* workspace_;
    std::mutex* lock_;
    std::unique_ptr<Workspace> owned_;
  };

  Lease acquire() {
    const size_t count = slots_.size();
    const size_t first = std::hash<std::thread::id>{}(std::this_thread::get_id()) % count;
    for (size_t i = 0; i < count; ++i) {
      Slot& slot = *slots_[(first + i) % count];
      if (slot.lock.try_lock()) return Lease(&slot.workspace, &slot.lock, nullptr);
    }
    auto temporary = std::make_unique<Workspace>(0);
    Workspace* raw = temporary.get();
    return Lease(raw, nullptr, std::move(temporary));
  }

 private:
  struct Slot {
    explicit Slot(size_t cache_capacity) : workspace(cache_capacity) {}
    std::mutex lock;
    Workspace workspace;
  };
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace lmf::tokenizers::hf
