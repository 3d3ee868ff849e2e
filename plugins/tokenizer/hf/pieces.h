// The text of one encode call as it goes through the pipeline: a list of pieces over one
// growing buffer. Splitting a piece makes new ranges, never copies; only steps that change
// text (a normalizer, a prefix space) append new text to the buffer.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::tokenizers::hf {

struct Piece {
  static constexpr uint8_t kByteLevel = 1;  // text is raw bytes standing for their
                                            // byte-level alphabet (Note [Lazy byte level])
  static constexpr uint8_t kAtStart = 2;    // begins at offset 0 of the original text

  uint32_t begin = 0, end = 0;  // into PieceList::text
  int32_t added_id = -1;        // >= 0: an added token, already an id
  uint8_t flags = 0;

  bool is_added() const { return added_id >= 0; }
  bool has(uint8_t flag) const { return (flags & flag) != 0; }
};

// A part of a piece found by a pattern: a match, or the text between two matches.
struct Range {
  uint32_t begin, end;
  bool is_match;
};

struct PieceList {
  std::string text;
  std::vector<Piece> pieces;

  std::string_view view(const Piece& piece) const {
    return std::string_view(text).substr(piece.begin, piece.end - piece.begin);
  }
  // Appends `added` to the buffer and returns a piece over it with `flags`.
  Piece append_text(std::string_view added, uint8_t flags) {
    check_size(text.size() + added.size());
    const auto begin = static_cast<uint32_t>(text.size());
    text.append(added);
    return Piece{begin, static_cast<uint32_t>(text.size()), -1, flags};
  }
  // Offsets are 32-bit: a text (with what normalization adds) must stay under 4 GiB.
  static void check_size(size_t bytes) {
    if (bytes >= UINT32_MAX)
      throw std::invalid_argument(
          "the text is too long for the hf tokenizer (" + std::to_string(bytes) +
          " bytes with its normalized forms; the limit is 4 GiB): split it");
  }
};

// Note [Lazy byte level]
// The ByteLevel pre-tokenizer maps every byte to a printable code point, so that the
// BPE vocabulary, made of such code points, can look it up. Mapping costs a copy of the
// text; instead the piece keeps its raw bytes and the kByteLevel flag, and the BPE model
// looks raw bytes up in a vocabulary whose keys were mapped back to bytes at load. A step
// after ByteLevel that reads the text (rare) maps the piece for real first.

}  // namespace lmf::tokenizers::hf
