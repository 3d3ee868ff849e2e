#include "piece_decoder.h"

#include "../hf/utf8.h"

namespace lmf::tokenizers::spm {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// ByteFallback: the bytes of a run of byte pieces, or U+FFFD for each of them.
void flush_bytes(std::string& bytes, std::string& out) {
  if (bytes.empty()) return;
  if (hf::valid_utf8_prefix(bytes) == bytes.size()) {
    out += bytes;
  } else {
    for (size_t i = 0; i < bytes.size(); ++i) out += kReplacementCharacter;
  }
  bytes.clear();
}

}  // namespace

std::string PieceDecoder::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string out, bytes;
  for (const int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= pieces_.size()) continue;
    const Piece& piece = pieces_[id];
    if (skip_special && piece.special) continue;
    if (piece.byte >= 0) {
      bytes.push_back(static_cast<char>(piece.byte));
      continue;
    }
    flush_bytes(bytes, out);
    out += piece.text;
  }
  flush_bytes(bytes, out);
  if (!out.empty() && out.front() == ' ') out.erase(0, 1);
  return out;
}

}  // namespace lmf::tokenizers::spm
