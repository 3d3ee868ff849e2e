// Added tokens (tokenizer.json "added_tokens"): found in the text before anything else
// runs, exactly as HF's AddedVocabulary::extract_and_normalize does:
//  1. tokens with "normalized": false are matched in the raw text;
//  2. the normalizer runs on each piece of text between them;
//  3. tokens with "normalized": true are matched, in their normalized form, in those
//     normalized pieces.
// Matching is leftmost-longest (HF uses Aho-Corasick with MatchKind::LeftmostLongest);
// single_word, lstrip and rstrip then apply as in HF's find_matches.
#pragma once

#include "normalizers.h"
#include "workspace.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lmf::tokenizers::hf {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool normalized = true;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

// Byte patterns -> index of the longest one starting at a position.
class TokenTrie {
 public:
  void add(std::string_view pattern, int32_t index);
  bool empty() const { return nodes_.size() <= 1; }
  // The index of the longest pattern that starts at text[at] (its length in `length`),
  // or -1.
  int32_t longest_at(std::string_view text, size_t at, size_t& length) const;
  // The first position >= at where a pattern may start, or text.size().
  size_t next_candidate(std::string_view text, size_t at) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t value = -1;
  };
  int32_t child(int32_t node, unsigned char byte) const;
  std::vector<Node> nodes_{Node{}};
  std::array<bool, 256> first_byte_{};
};

class AddedVocabulary {
 public:
  // `normalizer` (may be null) gives the normalized form of tokens with normalized: true.
  AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // ws.list.text holds the (valid UTF-8) input: fills ws.list.pieces with the added tokens
  // found and the normalized text between them.
  void split(Workspace& ws, const Normalizer* normalizer) const;

  // The token with this content (HF looks added tokens up before the model's vocabulary).
  const AddedToken* find(std::string_view content) const;
  const AddedToken* find(int32_t id) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

 private:
  // Appends to `out` the pieces of `piece` (a range of ws.list.text): the matches of
  // `patterns` (indexes into `ids`) and the text between them (HF's find_matches).
  void find_matches(const TokenTrie& trie, const std::vector<int32_t>& ids, const Piece& piece,
                    PieceList& list, std::vector<Piece>& out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, size_t> by_content_;  // -> index in tokens_
  std::unordered_map<int32_t, size_t> by_id_;
  TokenTrie raw_trie_, normalized_trie_;
  std::vector<int32_t> raw_ids_, normalized_ids_;  // trie value -> token index
};

}  // namespace lmf::tokenizers::hf
