#include "model_proto.h"

#include <stdexcept>

namespace lmf::tokenizers::spm {
namespace {

// The protobuf wire format, just enough of it (protobuf.dev/programming-guides/encoding).
class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}

  bool done() const { return at_ >= bytes_.size(); }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) malformed("a varint runs past the end");
      const auto byte = static_cast<uint8_t>(bytes_[at_++]);
      value |= uint64_t{byte & 0x7Fu} << shift;
      if ((byte & 0x80) == 0) return value;
    }
    malformed("a varint is longer than 10 bytes");
  }

  std::string_view length_delimited() {
    const uint64_t length = varint();
    if (length > bytes_.size() - at_) malformed("a field runs past the end");
    const std::string_view field = bytes_.substr(at_, length);
    at_ += length;
    return field;
  }

  // Skips a field's value of wire type `wire_type`.
  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case 0:
        varint();
        return;
      case 1:
        advance(8);
        return;
      case 2:
        length_delimited();
        return;
      case 5:
        advance(4);
        return;
      default:
        malformed("unknown wire type " + std::to_string(wire_type));
    }
  }

 private:
  void advance(size_t count) {
    if (count > bytes_.size() - at_) malformed("a fixed-size field runs past the end");
    at_ += count;
  }
  [[noreturn]] void malformed(const std::string& what) const {
    throw std::runtime_error("not a SentencePiece model: " + what + " (byte " +
                             std::to_string(at_) + ")");
  }

  std::string_view bytes_;
  size_t at_ = 0;
};

PieceType read_type(std::string_view piece_message) {
  constexpr uint32_t kTypeField = 3;
  PieceType type = PieceType::kNormal;
  WireReader reader(piece_message);
  while (!reader.done()) {
    const uint64_t key = reader.varint();
    if ((key >> 3) == kTypeField && (key & 7) == 0)
      type = static_cast<PieceType>(reader.varint());
    else
      reader.skip(key & 7);
  }
  return type;
}

}  // namespace

std::vector<PieceType> read_piece_types(std::string_view model_proto) {
  constexpr uint32_t kPiecesField = 1;
  std::vector<PieceType> types;
  WireReader reader(model_proto);
  while (!reader.done()) {
    const uint64_t key = reader.varint();
    if ((key >> 3) == kPiecesField && (key & 7) == 2)
      types.push_back(read_type(reader.length_delimited()));
    else
      reader.skip(key & 7);
  }
  return types;
}

}  // namespace lmf::tokenizers::spm
