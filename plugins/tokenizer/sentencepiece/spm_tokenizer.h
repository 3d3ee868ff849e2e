// A SentencePiece model loaded through libsentencepiece, with Hugging Face's handling of
// special tokens around it (docs/tokenizers.md, "The sentencepiece tokenizer"). Immutable
// once built: one instance serves every thread.
#pragma once

#include "added_tokens.h"
#include "model_proto.h"
#include "piece_decoder.h"

#include <sentencepiece_processor.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::tokenizers::spm {

struct TokenizerOptions {
  // Unset: what tokenizer_config.json says, else transformers' LlamaTokenizer defaults
  // (a bos, no eos).
  std::optional<bool> add_bos_token, add_eos_token;
  // Unset: tokenizer_config.json / special_tokens_map.json, else the model's bos/eos piece.
  std::optional<std::string> bos_token, eos_token;
  // Note [Special tokens in text]
  bool split_special_tokens = false;
};

class SpmTokenizer {
 public:
  SpmTokenizer(const std::filesystem::path& model_file, const TokenizerOptions& options);

  // Appends the ids of `text` (valid UTF-8) to `out`; with `add_special`, the bos/eos that
  // the options ask for around them.
  void encode(std::string_view text, bool add_special, std::vector<int32_t>& out) const;
  // Note [Decode as Hugging Face]
  std::string decode(std::span<const int32_t> ids, bool skip_special) const {
    return decoder_->decode(ids, skip_special);
  }

  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  uint32_t vocab_size() const { return static_cast<uint32_t>(types_.size()); }

 private:
  // The bos or eos id to add, from the options, the HF config files and the model.
  std::optional<int32_t> special_to_add(std::optional<bool> add_option,
                                        std::optional<bool> add_file, bool add_default,
                                        const std::optional<std::string>& token_option,
                                        const std::optional<std::string>& token_file, int model_id,
                                        const char* which) const;
  // The text between added tokens, as one SentencePiece sentence.
  void encode_stretch(std::string_view text, std::vector<int32_t>& out) const;

  std::string file_;  // for messages
  sentencepiece::SentencePieceProcessor processor_;
  std::vector<PieceType> types_;  // by id
  std::optional<int32_t> bos_id_, eos_id_;
  std::optional<AddedTokens> added_;  // absent with split_special_tokens
  std::optional<PieceDecoder> decoder_;
};

}  // namespace lmf::tokenizers::spm
