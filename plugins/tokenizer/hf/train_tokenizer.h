// What the hf tokenizer's train call does: pulls the corpus from the host's text stream,
// counts its words, learns the merges and renders the files, reporting progress to the
// host and stopping when it asks.
#pragma once

#include "train_options.h"

#include <lmf/sdk/tokenizer.h>

#include <cstdint>
#include <string>

namespace lmf::tokenizers::hf {

struct TrainedTokenizer {
  std::string tokenizer_json;     // the text of tokenizer.json
  std::string tokenizer_config;   // the text of tokenizer_config.json
  uint64_t texts = 0, words = 0;  // texts read, distinct words counted
  size_t tokens = 0, merges = 0;
  // Why it has fewer tokens than asked, or "" when it has them all.
  std::string shortfall;
};

// Throws lmf::sdk::Error (LMF_ERR_CANCELLED when the host asks to stop).
TrainedTokenizer train_tokenizer(lmf::sdk::TextStream& corpus, const TrainOptions& options);

}  // namespace lmf::tokenizers::hf
