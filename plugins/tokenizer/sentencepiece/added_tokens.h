// The tokens recognised in the text before SentencePiece sees it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::tokenizers::spm {

// Note [Special tokens in text]
// Hugging Face's Llama tokenizers make the control pieces (<s>, </s>), the unknown piece
// and the user-defined pieces of a SentencePiece model added tokens (normalized: false, no
// lstrip/rstrip): wherever one is written in the text it becomes its id, matched leftmost
// longest in the raw text, and only the text between them goes through the model (HF's
// default, split_special_tokens=False). Each stretch of text between them is then encoded
// as a sentence of its own, so it gets SentencePiece's dummy-prefix "▁" too: that is what
// Llama-2's tokenizer.json does (its Prepend normalizer runs per stretch; transformers
// calls it the "legacy" behaviour), so "a<s>b" is ▁a <s> ▁b. With split_special_tokens
// the plugin hands the whole text to SentencePiece, which never produces a control piece
// from text ("<s>" becomes ▁< s >), as spm_encode does.
struct AddedToken {
  std::string content;
  int32_t id = 0;
};

class AddedTokens {
 public:
  explicit AddedTokens(std::vector<AddedToken> tokens);

  // Calls on_text(stretch) for the text between added tokens (never empty) and
  // on_token(id) for each added token, in the order of the text.
  template <class OnText, class OnToken>
  void split(std::string_view text, OnText&& on_text, OnToken&& on_token) const {
    size_t start = 0;  // of the text not yet handed out
    for (size_t at = 0; at < text.size(); ++at) {
      const AddedToken* token = longest_at(text, at);
      if (token == nullptr) continue;
      if (at > start) on_text(text.substr(start, at - start));
      on_token(token->id);
      start = at + token->content.size();
      at = start - 1;
    }
    if (start < text.size()) on_text(text.substr(start));
  }

  bool empty() const { return tokens_.empty(); }

 private:
  // The longest token that `text` holds at `at`, or null.
  const AddedToken* longest_at(std::string_view text, size_t at) const;

  std::vector<AddedToken> tokens_;
  // By first byte: indices into tokens_, longest first.
  std::array<std::vector<uint32_t>, 256> by_first_byte_;
};

}  // namespace lmf::tokenizers::spm
