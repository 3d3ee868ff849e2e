// Pre-tokenizers of tokenizer.json: ByteLevel, Split, Digits, Metaspace, Whitespace,
// WhitespaceSplit and Sequence. Each splits the pieces that are not added tokens into
// smaller ones; the BPE model then sees one piece at a time.
#pragma once

#include "regex.h"
#include "workspace.h"

#include <memory>
#include <string>
#include <vector>

namespace lmf::tokenizers::hf {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Rewrites ws.list: pieces that are added tokens stay as they are.
  virtual void pre_tokenize(Workspace& ws) const = 0;
};

// How Split treats what its pattern matched (HF's SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

enum class PrependScheme { kAlways, kFirst, kNever };

// The pattern of GPT-2 that ByteLevel splits with when use_regex is true.
extern const char* const kByteLevelPattern;

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex);
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(std::unique_ptr<Regex> pattern,
                                                       SplitBehavior behavior, bool invert);
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits);
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement,
                                                           PrependScheme scheme, bool split);
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(
    std::vector<std::unique_ptr<PreTokenizer>> pre_tokenizers);

// Maps a kByteLevel piece's bytes to the byte-level alphabet for real (Note [Lazy byte
// level]); other pieces are left alone.
void materialize_byte_level(PieceList& list, Piece& piece);

}  // namespace lmf::tokenizers::hf
