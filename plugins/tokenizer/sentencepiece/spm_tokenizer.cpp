#include "spm_tokenizer.h"

#include "model_files.h"

#include <lmf/sdk/error.h>

#include <charconv>

namespace lmf::tokenizers::spm {
namespace {

using lmf::sdk::fail;

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // ▁ U+2581

std::string replace_space_symbol(std::string_view piece) {
  std::string text;
  for (size_t at = 0; at < piece.size();) {
    if (piece.compare(at, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
      text += ' ';
      at += kSpaceSymbol.size();
    } else {
      text += piece[at++];
    }
  }
  return text;
}

// The value of a byte piece "<0xHH>", or -1 for a piece that is not spelled so.
int16_t byte_value(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  unsigned value = 0;
  const auto [end, error] = std::from_chars(piece.data() + 3, piece.data() + 5, value, 16);
  return error == std::errc() && end == piece.data() + 5 ? static_cast<int16_t>(value) : -1;
}

}  // namespace

SpmTokenizer::SpmTokenizer(const std::filesystem::path& model_file, const TokenizerOptions& options)
    : file_(model_file.string()) {
  const std::string bytes = read_model_file(model_file);
  if (const auto status = processor_.LoadFromSerializedProto(bytes); !status.ok())
    fail(LMF_ERR_DATA,
         file_ + ": not a valid SentencePiece model (libsentencepiece: " + status.ToString() + ")");
  try {
    types_ = read_piece_types(bytes);  // Note [Reading the model proto]
  } catch (const std::exception& e) {
    fail(LMF_ERR_DATA, file_ + ": " + e.what());
  }
  if (types_.size() != static_cast<size_t>(processor_.GetPieceSize()))
    fail(LMF_ERR_DATA, file_ + ": " + std::to_string(types_.size()) + " pieces read, " +
                           "libsentencepiece has " + std::to_string(processor_.GetPieceSize()));

  const HfTokenizerConfig hf = read_hf_tokenizer_config(model_file);
  bos_id_ = special_to_add(options.add_bos_token, hf.add_bos_token, true, options.bos_token,
                           hf.bos_token, processor_.bos_id(), "bos");
  eos_id_ = special_to_add(options.add_eos_token, hf.add_eos_token, false, options.eos_token,
                           hf.eos_token, processor_.eos_id(), "eos");

  std::vector<AddedToken> added;
  std::vector<PieceDecoder::Piece> pieces(types_.size());
  for (size_t id = 0; id < types_.size(); ++id) {
    const std::string& piece = processor_.IdToPiece(static_cast<int>(id));
    const PieceType type = types_[id];
    const bool special = type == PieceType::kControl || type == PieceType::kUnknown ||
                         bos_id_ == static_cast<int32_t>(id) || eos_id_ == static_cast<int32_t>(id);
    if (special || type == PieceType::kUserDefined)
      added.push_back({piece, static_cast<int32_t>(id)});
    pieces[id] = {replace_space_symbol(piece),
                  type == PieceType::kByte ? byte_value(piece) : int16_t{-1}, special};
  }
  if (!options.split_special_tokens) added_.emplace(std::move(added));
  decoder_.emplace(std::move(pieces));
}

std::optional<int32_t> SpmTokenizer::special_to_add(std::optional<bool> add_option,
                                                    std::optional<bool> add_file, bool add_default,
                                                    const std::optional<std::string>& token_option,
                                                    const std::optional<std::string>& token_file,
                                                    int model_id, const char* which) const {
  const std::string field = std::string(which) + "_token";
  const bool asked = add_option.has_value() || add_file.has_value();
  if (!add_option.value_or(add_file.value_or(add_default))) return std::nullopt;
  std::optional<std::string> token = token_option ? token_option : token_file;
  if (!token && model_id >= 0) token = processor_.IdToPiece(model_id);
  if (!token) {
    // A model without that piece (bos_id -1) gets none by default; asking for it is an error.
    if (!asked) return std::nullopt;
    fail(LMF_ERR_INVALID_ARGUMENT, "sentencepiece tokenizer: add_" + field + " is true but " +
                                       file_ + " has no " + which + " piece and no \"" + field +
                                       "\" is configured");
  }
  const int id = processor_.PieceToId(*token);
  if (processor_.IdToPiece(id) != *token)
    fail(LMF_ERR_INVALID_ARGUMENT,
         "sentencepiece tokenizer: " + field + " \"" + *token + "\" (from " +
             (token_option ? std::string("the config") : file_ + "'s tokenizer_config.json") +
             ") is not a piece of " + file_);
  return id;
}

void SpmTokenizer::encode(std::string_view text, bool add_special,
                          std::vector<int32_t>& out) const {
  if (add_special && bos_id_) out.push_back(*bos_id_);
  if (added_) {
    added_->split(
        text, [&](std::string_view stretch) { encode_stretch(stretch, out); },
        [&](int32_t id) { out.push_back(id); });
  } else {
    encode_stretch(text, out);
  }
  if (add_special && eos_id_) out.push_back(*eos_id_);
}

void SpmTokenizer::encode_stretch(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<int> ids;
  if (const auto status = processor_.Encode(text, &ids); !status.ok())
    fail(LMF_ERR_INTERNAL, "sentencepiece tokenizer: libsentencepiece could not encode a text of " +
                               std::to_string(text.size()) + " bytes: " + status.ToString());
  out.insert(out.end(), ids.begin(), ids.end());
}

std::optional<int32_t> SpmTokenizer::token_to_id(std::string_view token) const {
  const int id = processor_.PieceToId(token);
  // PieceToId answers unk_id for a piece it does not know.
  if (id < 0 || processor_.IdToPiece(id) != token) return std::nullopt;
  return id;
}

std::optional<std::string> SpmTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= types_.size()) return std::nullopt;
  return processor_.IdToPiece(id);
}

}  // namespace lmf::tokenizers::spm
