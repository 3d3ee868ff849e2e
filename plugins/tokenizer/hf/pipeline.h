// A loaded tokenizer.json: the parts in HF's order (added tokens, normalizer,
// pre-tokenizer, BPE model, post-processor; decoder for the way back). Immutable once
// built, so one Pipeline serves every thread (Note [Encode from several threads]).
#pragma once

#include "added_tokens.h"
#include "bpe_model.h"
#include "decoders.h"
#include "normalizers.h"
#include "post_processors.h"
#include "pre_tokenizers.h"
#include "workspace.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::tokenizers::hf {

struct PipelineParts {
  std::unique_ptr<Normalizer> normalizer;       // null: none
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // null: none
  std::unique_ptr<BpeModel> model;
  std::vector<AddedToken> added_tokens;
  std::unique_ptr<PostProcessor> post_processor;  // null: none (no special tokens added)
  std::unique_ptr<Decoder> decoder;               // null: tokens joined by spaces
};

class Pipeline {
 public:
  explicit Pipeline(PipelineParts parts);

  // Appends the ids of `text` (valid UTF-8, Note [Invalid UTF-8]) to `out`.
  void encode(std::string_view text, bool add_special_tokens, Workspace& ws,
              std::vector<int32_t>& out) const;
  // Ids unknown to the vocabulary are left out, as HF does.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  // HF's get_vocab_size(with_added_tokens=true): distinct tokens of the model's vocabulary
  // and the added tokens.
  uint32_t vocab_size() const { return vocab_size_; }

 private:
  // The token text decode starts from: an added token's content, else the model's token.
  const std::string* token_text(int32_t id) const;
  bool is_special(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[id] != 0;
  }

  PipelineParts parts_;
  std::unique_ptr<AddedVocabulary> added_;
  const Normalizer* normalizer_ = nullptr;  // null when absent or an identity
  uint32_t vocab_size_ = 0;
  std::vector<uint8_t> special_;  // by id
  // Byte-level decoding per id (Note [Decode by bytes]).
  bool decode_by_bytes_ = false;
  std::string decoded_bytes_;
  std::vector<uint32_t> decoded_offsets_;  // id -> [offsets[id], offsets[id + 1])
  std::vector<uint8_t> known_;             // by id: decode knows the id
};

}  // namespace lmf::tokenizers::hf
