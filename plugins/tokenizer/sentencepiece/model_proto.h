// What the plugin needs from a SentencePiece model file that libsentencepiece's public API
// does not tell: the type of each piece (user-defined symbols in particular).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::tokenizers::spm {

// sentencepiece_model.proto, ModelProto.SentencePiece.Type.
enum class PieceType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Note [Reading the model proto]
// libsentencepiece 0.1.97 installs no sentencepiece_model.pb.h, and its processor answers
// IsControl, IsUnknown, IsByte and IsUnused but not "is user-defined". Hugging Face's
// converter makes user-defined pieces added tokens, split out of the text before
// SentencePiece sees it (Note [Special tokens in text]), so the plugin needs that type.
// The protobuf wire format is simple enough to walk for it: ModelProto field 1 is the
// repeated SentencePiece message, whose field 3 is the type (NORMAL when absent). Every
// other field is skipped by its wire type. libsentencepiece has parsed the same bytes
// first, so a file that gets here is a valid ModelProto.

// The type of every piece, by id. Throws std::runtime_error when the bytes are not a
// ModelProto (what(): where the walk stopped).
std::vector<PieceType> read_piece_types(std::string_view model_proto);

}  // namespace lmf::tokenizers::spm
