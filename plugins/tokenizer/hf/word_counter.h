// The first step of BPE training: the corpus's distinct words and how often each occurs,
// as Hugging Face's BpeTrainer::feed counts them behind a ByteLevel pre-tokenizer
// (add_prefix_space false, use_regex true): every text is split by GPT-2's pattern
// (kByteLevelPattern) and each piece, matched or between matches, is one word.
#pragma once

#include "regex.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace lmf::tokenizers::hf {

// Words as their raw bytes; the trainer spells them in the byte-level alphabet.
using WordCounts = std::unordered_map<std::string, uint64_t>;

class WordCounter {
 public:
  // `threads`: how many threads split a batch (at least 1). The counts never depend on it.
  explicit WordCounter(size_t threads);

  // Counts the words of every text. A text that is not valid UTF-8 is repaired first as
  // encode repairs it (Note [Invalid UTF-8]), so training never sees what encoding cannot.
  void add(const std::vector<std::string>& texts);

  uint64_t texts() const { return texts_; }
  // The counts so far; the counter starts over empty.
  WordCounts take();

 private:
  void count(const std::string* first, const std::string* last, WordCounts& into) const;

  Regex pattern_;
  size_t threads_;
  uint64_t texts_ = 0;
  WordCounts counts_;
};

}  // namespace lmf::tokenizers::hf
