// Training examples: fixed-length blocks of the packed token shards (causal LM), or
// tokenized conversations with the loss on the assistant's tokens only (SFT), or
// chosen/rejected pairs (DPO). An example is ids plus aligned labels: labels[t] is the id
// the model should predict after ids[0..t], or kIgnore.
#pragma once

#include "chat_format.h"
#include "tokenizer_client.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lmf::torch_backend {

constexpr int64_t kIgnore = -100;  // as transformers' ignore_index

struct Example {
  std::vector<int64_t> ids;
  std::vector<int64_t> labels;
};

// Each item is one example (causal LM, SFT) or a chosen/rejected pair (DPO).
class ExampleSet {
 public:
  virtual ~ExampleSet() = default;
  virtual int64_t size() const = 0;
  virtual std::vector<Example> at(int64_t index) const = 0;
  // Tokens the loss counts, over the whole set (for reports).
  virtual int64_t trained_tokens() const = 0;
};

// Labels for `ids` where `trained[t]` says whether ids[t] is a target: labels[t] =
// ids[t+1] when trained[t+1], else kIgnore (the last position predicts nothing).
std::vector<int64_t> shifted_labels(const std::vector<int64_t>& ids, const std::vector<bool>& trained);

// Blocks of `length` consecutive tokens of a shard split's documents back to back (as
// transformers' group_texts: the remainder shorter than a block is dropped).
std::unique_ptr<ExampleSet> token_blocks(const std::string& shards, const std::string& split,
                                         int64_t length, int64_t vocab_size);

struct ChatDataOptions {
  ChatTemplate chat_template = ChatTemplate::plain;
  std::string eos_text;  // ends answers in the plain template
  int64_t max_length = 512;
  bool pairs = false;    // DPO records: prompt, chosen, rejected
};

// Conversations or pairs from JSON Lines files, tokenized now. Records longer than
// `max_length` are cut at the end; a record left with no trained token is skipped and
// counted (`skipped`). Errors name the file and line.
std::unique_ptr<ExampleSet> chat_examples(const std::vector<std::string>& files,
                                          const TokenizerClient& tokenizer,
                                          const ChatDataOptions& options, int64_t vocab_size,
                                          int64_t* skipped);

}  // namespace lmf::torch_backend
