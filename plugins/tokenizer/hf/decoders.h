// Decoders of tokenizer.json: ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace,
// BPEDecoder and Sequence. As in HF, a decoder rewrites the list of token strings
// (decode_chain) and decode joins what the last one left.
#pragma once

#include "pre_tokenizers.h"
#include "regex.h"

#include <memory>
#include <string>
#include <vector>

namespace lmf::tokenizers::hf {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  // True for ByteLevel alone: decode then works on bytes per id (Pipeline::decode).
  virtual bool is_byte_level() const { return false; }
};

std::unique_ptr<Decoder> make_byte_level_decoder();
std::unique_ptr<Decoder> make_byte_fallback_decoder();
std::unique_ptr<Decoder> make_fuse_decoder();
std::unique_ptr<Decoder> make_strip_decoder(std::string content, size_t start, size_t stop);
std::unique_ptr<Decoder> make_replace_decoder(std::unique_ptr<Regex> regex, std::string content);
std::unique_ptr<Decoder> make_metaspace_decoder(std::string replacement, PrependScheme scheme);
std::unique_ptr<Decoder> make_bpe_decoder(std::string suffix);
std::unique_ptr<Decoder> make_sequence_decoder(std::vector<std::unique_ptr<Decoder>> decoders);

// The text HF's ByteLevel decoder makes of one token: the bytes its characters stand for,
// or the token's own UTF-8 when one character is not in the alphabet.
void append_byte_level_token(std::string_view token, std::string& bytes);

}  // namespace lmf::tokenizers::hf
