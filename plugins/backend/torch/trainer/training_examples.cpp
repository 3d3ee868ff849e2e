#include "training_examples.h"

#include "token_shards.h"

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <fstream>

namespace lmf::torch_backend {
namespace {

using nlohmann::json;

class TokenBlocks final : public ExampleSet {
 public:
  TokenBlocks(const std::string& folder, const std::string& split, int64_t length, int64_t vocab)
      : shards_(folder, split), length_(length) {
    if (shards_.vocab_size() > vocab)
      sdk::fail(LMF_ERR_DATA, folder + ": shards were tokenized with a vocabulary of " +
                                  std::to_string(shards_.vocab_size()) + " ids; the model has " +
                                  std::to_string(vocab));
  }
  int64_t size() const override { return shards_.tokens() / length_; }
  std::vector<Example> at(int64_t index) const override {
    Example example;
    example.ids = shards_.range(index * length_, length_);
    example.labels = shifted_labels(example.ids, std::vector<bool>(example.ids.size(), true));
    return {std::move(example)};
  }
  int64_t trained_tokens() const override { return size() * (length_ - 1); }

 private:
  TokenShards shards_;
  int64_t length_;
};

class ChatExamples final : public ExampleSet {
 public:
  std::vector<std::vector<Example>> items;
  int64_t tokens = 0;
  int64_t size() const override { return static_cast<int64_t>(items.size()); }
  std::vector<Example> at(int64_t index) const override { return items.at(index); }
  int64_t trained_tokens() const override { return tokens; }
};

// Tokenizes segments one by one (so that the trained/untrained boundary falls between
// tokens), cut to `max_length`.
Example tokenize(const std::vector<ChatSegment>& segments, ChatTemplate kind, const TokenizerClient& tokenizer,
                 int64_t max_length, int64_t vocab, const std::string& origin) {
  std::vector<int64_t> ids;
  std::vector<bool> trained;
  for (size_t s = 0; s < segments.size(); ++s) {
    const ChatSegment& segment = segments[s];
    // Note [Chat templates]: the plain layout lets the tokenizer add its own begin token
    // (as a prompt encoded for generation gets it); the others write theirs as text.
    const bool add_special = s == 0 && kind == ChatTemplate::plain;
    for (int64_t id : tokenizer.encode(segment.text, add_special)) {
      if (id < 0 || id >= vocab)
        sdk::fail(LMF_ERR_DATA, origin + ": the tokenizer gave id " + std::to_string(id) +
                                    ", outside the model's vocabulary of " + std::to_string(vocab));
      ids.push_back(id);
      trained.push_back(segment.trained);
    }
  }
  if (static_cast<int64_t>(ids.size()) > max_length) {
    ids.resize(max_length);
    trained.resize(max_length);
  }
  Example example{ids, shifted_labels(ids, trained)};
  return example;
}

bool has_target(const Example& example) {
  for (int64_t label : example.labels)
    if (label != kIgnore) return true;
  return false;
}

int64_t targets(const Example& example) {
  int64_t count = 0;
  for (int64_t label : example.labels) count += label != kIgnore;
  return count;
}

}  // namespace

std::vector<int64_t> shifted_labels(const std::vector<int64_t>& ids, const std::vector<bool>& trained) {
  std::vector<int64_t> labels(ids.size(), kIgnore);
  for (size_t t = 0; t + 1 < ids.size(); ++t)
    if (trained[t + 1]) labels[t] = ids[t + 1];
  return labels;
}

std::unique_ptr<ExampleSet> token_blocks(const std::string& shards, const std::string& split,
                                         int64_t length, int64_t vocab_size) {
  auto set = std::make_unique<TokenBlocks>(shards, split, length, vocab_size);
  return set;
}

std::unique_ptr<ExampleSet> chat_examples(const std::vector<std::string>& files,
                                          const TokenizerClient& tokenizer,
                                          const ChatDataOptions& options, int64_t vocab_size,
                                          int64_t* skipped) {
  auto set = std::make_unique<ChatExamples>();
  *skipped = 0;
  for (const std::string& file : files) {
    std::ifstream in(file);
    if (!in) sdk::fail(LMF_ERR_NOT_FOUND, file + ": cannot open");
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string origin = file + ":" + std::to_string(number);
      json record;
      try {
        record = json::parse(line);
      } catch (const json::parse_error& e) {
        sdk::fail(LMF_ERR_DATA, origin + ": not valid JSON: " + e.what());
      }
      std::vector<Example> item;
      if (options.pairs) {
        for (const char* side : {"chosen", "rejected"}) {
          if (!record.is_object() || !record.contains(side) || !record[side].is_string())
            sdk::fail(LMF_ERR_DATA, origin + ": a preference record needs string fields prompt, chosen and rejected (no \"" + side + "\")");
          json one = {{"prompt", record.value("prompt", json())}, {"response", record[side]}};
          if (record.contains("system")) one["system"] = record["system"];
          item.push_back(tokenize(render_chat(options.chat_template, record_messages(one, origin), options.eos_text, origin),
                                  options.chat_template, tokenizer, options.max_length, vocab_size, origin));
        }
      } else {
        item.push_back(tokenize(render_chat(options.chat_template, record_messages(record, origin), options.eos_text, origin),
                                options.chat_template, tokenizer, options.max_length, vocab_size, origin));
      }
      bool usable = true;
      for (const Example& example : item) usable = usable && has_target(example);
      if (!usable) {
        ++*skipped;
        continue;
      }
      for (const Example& example : item) set->tokens += targets(example);
      set->items.push_back(std::move(item));
    }
  }
  return set;
}

}  // namespace lmf::torch_backend
