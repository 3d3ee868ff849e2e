#include "bpe_model.h"

#include "byte_level.h"
#include "utf8.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <functional>
#include <stdexcept>

namespace lmf::tokenizers::hf {

// Note [BPE merge order]
// HF merges, among the pairs of adjacent symbols that have a merge, the one of lowest rank,
// and among equal ranks the leftmost; then the new symbol's pairs with its neighbours
// join the candidates. Short words (nearly all of them) are merged by scanning the few
// symbols for the best pair each round; long ones (a run of Chinese characters, a line
// of dashes) by a binary heap of candidates ordered by (rank, position) whose stale
// entries are skipped when popped, as HF's Word::merge_all does. Both give the same result.

namespace {

constexpr size_t kSmallWord = 48;  // symbols; above this the heap is cheaper

}  // namespace

BpeModel::BpeModel(std::vector<std::pair<std::string, int32_t>> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   BpeOptions options)
    : options_(std::move(options)) {
  vocab_.reserve(vocab.size());
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab) max_id = std::max(max_id, id);
  tokens_.resize(static_cast<size_t>(max_id + 1));
  has_token_.assign(tokens_.size(), 0);
  for (auto& [token, id] : vocab) {
    vocab_.insert(token, id);
    tokens_[id] = token;
    has_token_[id] = 1;
  }

  // The byte-level view of the vocabulary, when every byte has its token.
  const ByteLevelAlphabet& alphabet = ByteLevelAlphabet::get();
  bool byte_level = true;
  for (int byte = 0; byte < 256; ++byte) {
    byte_ids_[byte] = vocab_.find(alphabet.text_of(static_cast<uint8_t>(byte)));
    byte_level = byte_level && byte_ids_[byte] >= 0;
  }
  accepts_raw_bytes_ = byte_level && options_.continuing_subword_prefix.empty() &&
                       options_.end_of_word_suffix.empty();
  if (accepts_raw_bytes_) {
    raw_vocab_.reserve(vocab.size());
    std::string bytes;
    for (const auto& [token, id] : vocab) {
      bytes.clear();
      if (alphabet.decode(token, bytes)) raw_vocab_.insert(bytes, id);
    }
  }

  if (options_.unk_token) unk_id_ = vocab_.find(*options_.unk_token);

  merges_.reserve(merges.size());
  const size_t prefix_length = options_.continuing_subword_prefix.size();
  std::string merged;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const int32_t left_id = vocab_.find(left);
    const int32_t right_id = vocab_.find(right);
    if (left_id < 0 || right_id < 0) {
      throw std::invalid_argument("model.merges[" + std::to_string(rank) + "]: \"" +
                                  (left_id < 0 ? left : right) + "\" is not in model.vocab");
    }
    merged.assign(left);
    merged.append(std::string_view(right).substr(
        right.compare(0, prefix_length, options_.continuing_subword_prefix) == 0 ? prefix_length
                                                                                 : 0));
    const int32_t merged_id = vocab_.find(merged);
    if (merged_id < 0) {
      throw std::invalid_argument("model.merges[" + std::to_string(rank) +
                                  "]: the merged token \"" + merged + "\" is not in model.vocab");
    }
    merges_.insert(left_id, right_id, {static_cast<int32_t>(rank), merged_id});
  }
}

void BpeModel::tokenize(std::string_view piece, bool byte_level, Workspace& ws,
                        std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  const StringIdMap& vocab = byte_level ? raw_vocab_ : vocab_;
  if (options_.ignore_merges) {
    if (const int32_t id = vocab.find(piece); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (const std::span<const int32_t> cached = ws.cache.find(piece); !cached.empty()) {
    out.insert(out.end(), cached.begin(), cached.end());
    return;
  }
  merge_word(piece, byte_level, ws);
  if (ws.symbols.empty()) return;  // every character unknown, and no unk token
  ws.word_ids.clear();
  for (int32_t i = 0; i >= 0; i = ws.symbols[static_cast<size_t>(i)].next)
    ws.word_ids.push_back(ws.symbols[static_cast<size_t>(i)].id);
  out.insert(out.end(), ws.word_ids.begin(), ws.word_ids.end());
  ws.cache.insert(piece, ws.word_ids);
}

void BpeModel::initial_symbols(std::string_view word, bool byte_level, Workspace& ws) const {
  std::vector<BpeSymbol>& symbols = ws.symbols;
  symbols.clear();
  auto add = [&](int32_t id, uint32_t length) {
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1, length});
  };
  if (byte_level) {
    // Every byte has its token (accepts_raw_bytes), so this is HF's loop below without
    // misses.
    for (char c : word) add(byte_ids_[static_cast<uint8_t>(c)], 1);
  } else {
    // One symbol per character, decorated with the subword prefix (all but the first) and
    // the end-of-word suffix (the last); a character outside the vocabulary becomes its
    // <0xXX> byte tokens (byte_fallback), the unknown token, or nothing, as in HF.
    std::string symbol;
    int32_t pending_unk = -1;
    uint32_t pending_unk_length = 0;
    size_t at = 0;
    while (at < word.size()) {
      const size_t start = at;
      at += utf8_length(static_cast<unsigned char>(word[at]));
      const std::string_view character = word.substr(start, at - start);
      symbol.clear();
      if (start != 0) symbol.append(options_.continuing_subword_prefix);
      symbol.append(character);
      if (at == word.size()) symbol.append(options_.end_of_word_suffix);
      const auto length = static_cast<uint32_t>(character.size());
      if (const int32_t id = vocab_.find(symbol); id >= 0) {
        if (pending_unk >= 0) add(pending_unk, pending_unk_length), pending_unk = -1;
        add(id, length);
        continue;
      }
      if (options_.byte_fallback) {
        std::array<int32_t, 64> byte_tokens{};
        bool all_found = symbol.size() <= byte_tokens.size();
        for (size_t i = 0; all_found && i < symbol.size(); ++i) {
          char name[8];
          std::snprintf(name, sizeof(name), "<0x%02X>", static_cast<unsigned char>(symbol[i]));
          byte_tokens[i] = vocab_.find(name);
          all_found = byte_tokens[i] >= 0;
        }
        if (all_found) {
          for (size_t i = 0; i < symbol.size(); ++i) add(byte_tokens[i], 1);
          continue;
        }
      }
      if (unk_id_ >= 0) {
        if (pending_unk >= 0 && options_.fuse_unk) {
          pending_unk_length += length;
        } else {
          if (pending_unk >= 0) add(pending_unk, pending_unk_length);
          pending_unk = unk_id_;
          pending_unk_length = length;
        }
      }
    }
    if (pending_unk >= 0) add(pending_unk, pending_unk_length);
  }
  if (!symbols.empty()) symbols.back().next = -1;
}

void BpeModel::merge_word(std::string_view word, bool byte_level, Workspace& ws) const {
  initial_symbols(word, byte_level, ws);
  if (ws.symbols.size() < 2) return;
  if (ws.symbols.size() <= kSmallWord)
    merge_small(ws);
  else
    merge_with_queue(ws);
}

void BpeModel::merge_small(Workspace& ws) const {
  // The symbols stay contiguous here: merging erases the right one.
  std::vector<BpeSymbol>& symbols = ws.symbols;
  std::array<PairMap::Merge, kSmallWord> pairs;
  size_t count = symbols.size();
  for (size_t i = 0; i + 1 < count; ++i) pairs[i] = merges_.find(symbols[i].id, symbols[i + 1].id);
  while (count > 1) {
    size_t best = count;
    int32_t best_rank = INT32_MAX;
    for (size_t i = 0; i + 1 < count; ++i) {
      if (pairs[i].rank >= 0 && pairs[i].rank < best_rank) {
        best_rank = pairs[i].rank;
        best = i;
      }
    }
    if (best == count) break;
    symbols[best].id = pairs[best].id;
    symbols[best].length += symbols[best + 1].length;
    for (size_t i = best + 1; i + 1 < count; ++i) {
      symbols[i] = symbols[i + 1];
      pairs[i] = pairs[i + 1];
    }
    --count;
    if (best > 0) pairs[best - 1] = merges_.find(symbols[best - 1].id, symbols[best].id);
    if (best + 1 < count) pairs[best] = merges_.find(symbols[best].id, symbols[best + 1].id);
  }
  symbols.resize(count);
  for (size_t i = 0; i < count; ++i) {
    symbols[i].prev = static_cast<int32_t>(i) - 1;
    symbols[i].next = i + 1 < count ? static_cast<int32_t>(i + 1) : -1;
  }
}

void BpeModel::merge_with_queue(Workspace& ws) const {
  std::vector<BpeSymbol>& symbols = ws.symbols;
  // A min-heap of candidates packed as rank << 32 | position: one integer compare orders
  // them by (rank, position). The merged id is looked up again when a candidate is
  // popped, which is also how a stale candidate is recognised.
  std::vector<uint64_t>& queue = ws.queue;
  queue.clear();
  const auto later = std::greater<uint64_t>();
  auto push = [&](int32_t position) {
    const BpeSymbol& left = symbols[static_cast<size_t>(position)];
    if (left.next < 0) return;
    const PairMap::Merge merge = merges_.find(left.id, symbols[static_cast<size_t>(left.next)].id);
    if (merge.rank < 0) return;
    queue.push_back((uint64_t(uint32_t(merge.rank)) << 32) | uint32_t(position));
    std::push_heap(queue.begin(), queue.end(), later);
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    const PairMap::Merge merge = merges_.find(symbols[i].id, symbols[i + 1].id);
    if (merge.rank >= 0) queue.push_back((uint64_t(uint32_t(merge.rank)) << 32) | uint32_t(i));
  }
  std::make_heap(queue.begin(), queue.end(), later);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), later);
    const uint64_t top = queue.back();
    queue.pop_back();
    const auto rank = static_cast<int32_t>(top >> 32);
    const auto position = static_cast<int32_t>(top & 0xFFFFFFFFu);
    BpeSymbol& left = symbols[static_cast<size_t>(position)];
    if (left.length == 0 || left.next < 0) continue;
    BpeSymbol& right = symbols[static_cast<size_t>(left.next)];
    // Stale when the pair changed since it was queued.
    const PairMap::Merge current = merges_.find(left.id, right.id);
    if (current.rank != rank) continue;
    left.id = current.id;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (left.next >= 0) symbols[static_cast<size_t>(left.next)].prev = position;
    if (left.prev >= 0) push(left.prev);
    push(position);
  }
  // Compact to the surviving symbols, linked in order, starting at index 0.
  size_t out = 0;
  for (int32_t i = 0; i >= 0;) {
    const BpeSymbol symbol = symbols[static_cast<size_t>(i)];
    const int32_t next = symbol.next;
    symbols[out] = symbol;
    symbols[out].prev = static_cast<int32_t>(out) - 1;
    ++out;
    symbols[out - 1].next = next >= 0 ? static_cast<int32_t>(out) : -1;
    i = next;
  }
  symbols.resize(out);
}

}  // namespace lmf::tokenizers::hf
