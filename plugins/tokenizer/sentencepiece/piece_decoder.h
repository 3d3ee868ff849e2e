// Ids back to text, as Hugging Face decodes a Llama-2 style tokenizer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmf::tokenizers::spm {

// Note [Decode as Hugging Face]
// Llama-2's tokenizer.json (what transformers' LlamaConverter writes for a SentencePiece
// model) decodes with Replace("▁", " "), ByteFallback, Fuse and Strip(" ", 1, 0), and every
// token goes through that chain, special ones included. So: each piece's "▁" become spaces;
// a run of byte pieces <0xHH> becomes its bytes when they are valid UTF-8 and one U+FFFD per
// byte piece when they are not (the whole run, not only the bad bytes); the pieces are
// joined; one leading space is dropped. Special tokens stay as their text ("<s>") unless
// skipped. libsentencepiece's own Decode differs on exactly these points: it drops control
// pieces, writes <unk> as " ⁇ ", replaces only the invalid bytes of a run, and strips the
// dummy-prefix space of the first piece after the control pieces rather than a leading
// space of the whole text ("<s> Hi" in Hugging Face, "Hi" in SentencePiece).
class PieceDecoder {
 public:
  struct Piece {
    std::string text;   // the piece with "▁" already turned into " "
    int16_t byte = -1;  // a byte piece's value, -1 for other pieces
    bool special = false;
  };
  explicit PieceDecoder(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

  // Ids outside the vocabulary are left out, as Hugging Face does.
  std::string decode(std::span<const int32_t> ids, bool skip_special) const;

 private:
  std::vector<Piece> pieces_;  // by id
};

}  // namespace lmf::tokenizers::spm
