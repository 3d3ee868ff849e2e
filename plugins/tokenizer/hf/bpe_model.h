// The BPE model of tokenizer.json: vocabulary, ranked merges, and how a piece of text
// becomes ids (HF's BPE::tokenize, without dropout).
#pragma once

#include "flat_maps.h"
#include "workspace.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmf::tokenizers::hf {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;  // "" when absent
  std::string end_of_word_suffix;         // "" when absent
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel {
 public:
  // `vocab`: token -> id; `merges`: pairs of tokens in rank order. Throws
  // std::invalid_argument naming the first merge whose parts are not in the vocabulary.
  BpeModel(std::vector<std::pair<std::string, int32_t>> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

  // Appends the ids of `piece` to `out`. `byte_level`: the piece holds raw bytes that stand
  // for their byte-level alphabet (Note [Lazy byte level]).
  void tokenize(std::string_view piece, bool byte_level, Workspace& ws,
                std::vector<int32_t>& out) const;

  // True when tokenize accepts raw-byte pieces: the vocabulary is byte-level and no
  // prefix or suffix decorates the symbols.
  bool accepts_raw_bytes() const { return accepts_raw_bytes_; }

  int32_t token_to_id(std::string_view token) const { return vocab_.find(token); }
  // The token of `id`, or nullptr.
  const std::string* id_to_token(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < tokens_.size() && has_token_[id] ? &tokens_[id]
                                                                                 : nullptr;
  }
  size_t vocab_size() const { return vocab_.size(); }
  // One past the largest id of the vocabulary.
  size_t id_bound() const { return tokens_.size(); }

 private:
  void merge_word(std::string_view word, bool byte_level, Workspace& ws) const;
  void initial_symbols(std::string_view word, bool byte_level, Workspace& ws) const;
  void merge_small(Workspace& ws) const;
  void merge_with_queue(Workspace& ws) const;

  StringIdMap vocab_;      // token text -> id
  StringIdMap raw_vocab_;  // the bytes a byte-level token stands for -> id
  std::vector<std::string> tokens_;
  std::vector<uint8_t> has_token_;
  PairMap merges_;
  std::array<int32_t, 256> byte_ids_{};  // id of each byte's alphabet character, or -1
  BpeOptions options_;
  int32_t unk_id_ = -1;
  bool accepts_raw_bytes_ = false;
};

}  // namespace lmf::tokenizers::hf
