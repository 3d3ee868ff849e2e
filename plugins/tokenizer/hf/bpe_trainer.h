// Byte-level BPE training: from counted words (word_counter.h) to a vocabulary and ranked
// merges, the same ones Hugging Face's BpeTrainer learns (Note [Training as HF trains]).
#pragma once

#include "word_counter.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmf::tokenizers::hf {

struct BpeTrainerOptions {
  // The vocabulary stops growing at this many tokens, special tokens included.
  uint32_t vocab_size = 0;
  // A pair seen fewer times than this is never merged (HF's min_frequency).
  uint64_t min_frequency = 0;
  // Ids 0, 1, 2… in this order, before everything else.
  std::vector<std::string> special_tokens;
  // true: all 256 byte symbols start the vocabulary, as HF's ByteLevelBPETokenizer.train
  // (initial_alphabet=ByteLevel.alphabet()); false: only those the corpus uses, as
  // BpeTrainer's default.
  bool byte_alphabet = true;
};

// Why training stopped.
enum class TrainingStop {
  kVocabularyFull,  // vocab_size tokens
  kMinFrequency,    // the most frequent pair left is rarer than min_frequency
  kNothingToMerge,  // every word is a single token
};

struct TrainedBpe {
  // By id, as tokenizer.json spells them: special tokens as given, the others in the
  // byte-level alphabet (byte_level.h).
  std::vector<std::string> tokens;
  // Pairs of ids, in rank order.
  std::vector<std::pair<int32_t, int32_t>> merges;
  size_t special_count = 0;   // ids below this are the special tokens
  size_t alphabet_count = 0;  // symbols of one byte, after the special tokens
  TrainingStop stop = TrainingStop::kVocabularyFull;
};

// What training reports as it goes and whether it should stop: the plugin wires it to the
// host's progress and cancellation services.
class TrainingMonitor {
 public:
  virtual ~TrainingMonitor() = default;
  virtual void begin(std::string_view label, int64_t total, std::string_view unit) {
    (void)label, (void)total, (void)unit;
  }
  virtual void advance(int64_t delta) { (void)delta; }
  virtual void end() {}
  // Asked between steps; true stops training with LMF_ERR_CANCELLED.
  virtual bool cancelled() { return false; }
};

// Throws lmf::sdk::Error: INVALID_ARGUMENT when vocab_size is smaller than the special
// tokens and the alphabet together, CANCELLED when the monitor says so.
TrainedBpe train_bpe(const WordCounts& words, const BpeTrainerOptions& options,
                     TrainingMonitor& monitor);

}  // namespace lmf::tokenizers::hf
