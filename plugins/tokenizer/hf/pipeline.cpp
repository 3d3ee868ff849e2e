#include "pipeline.h"

#include "utf8.h"

#include <algorithm>

namespace lmf::tokenizers::hf {

// Note [Decode by bytes]
// With a ByteLevel decoder (the byte-level BPE of GPT-2, Llama-3, Qwen2 and DeepSeek),
// decoding is: for each id, the bytes its token stands for; all of them concatenated;
// then invalid UTF-8 replaced by U+FFFD (String::from_utf8_lossy in HF). The bytes of
// every id are computed once at load, so decode is a concatenation and one UTF-8 pass.

Pipeline::Pipeline(PipelineParts parts) : parts_(std::move(parts)) {
  if (parts_.normalizer && !parts_.normalizer->is_identity()) normalizer_ = parts_.normalizer.get();
  added_ = std::make_unique<AddedVocabulary>(parts_.added_tokens, normalizer_);

  const BpeModel& model = *parts_.model;
  size_t bound = model.id_bound();
  size_t distinct = model.vocab_size();
  for (const AddedToken& token : parts_.added_tokens) {
    bound = std::max(bound, static_cast<size_t>(token.id) + 1);
    if (model.token_to_id(token.content) < 0) ++distinct;
  }
  vocab_size_ = static_cast<uint32_t>(distinct);

  special_.assign(bound, 0);
  for (const AddedToken& token : parts_.added_tokens)
    if (token.special) special_[static_cast<size_t>(token.id)] = 1;

  decode_by_bytes_ = parts_.decoder && parts_.decoder->is_byte_level();
  if (decode_by_bytes_) {
    decoded_offsets_.assign(bound + 1, 0);
    known_.assign(bound, 0);
    for (size_t id = 0; id < bound; ++id) {
      decoded_offsets_[id] = static_cast<uint32_t>(decoded_bytes_.size());
      if (const std::string* text = token_text(static_cast<int32_t>(id))) {
        append_byte_level_token(*text, decoded_bytes_);
        known_[id] = 1;
      }
    }
    decoded_offsets_[bound] = static_cast<uint32_t>(decoded_bytes_.size());
  }
}

const std::string* Pipeline::token_text(int32_t id) const {
  if (const AddedToken* added = added_->find(id)) return &added->content;
  return parts_.model->id_to_token(id);
}

void Pipeline::encode(std::string_view text, bool add_special_tokens, Workspace& ws,
                      std::vector<int32_t>& out) const {
  const size_t first = out.size();
  PieceList::check_size(text.size());
  ws.list.text.assign(text);
  added_->split(ws, normalizer_);
  if (parts_.pre_tokenizer) parts_.pre_tokenizer->pre_tokenize(ws);
  const BpeModel& model = *parts_.model;
  const bool raw_bytes = model.accepts_raw_bytes();
  for (Piece& piece : ws.list.pieces) {
    if (piece.is_added()) {
      out.push_back(piece.added_id);
      continue;
    }
    bool byte_level = piece.has(Piece::kByteLevel);
    if (byte_level && !raw_bytes) {
      materialize_byte_level(ws.list, piece);
      byte_level = false;
    }
    model.tokenize(ws.list.view(piece), byte_level, ws, out);
  }
  if (add_special_tokens && parts_.post_processor) {
    if (first == 0) {
      parts_.post_processor->add_special_tokens(out);
    } else {
      std::vector<int32_t> ids(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
      parts_.post_processor->add_special_tokens(ids);
      out.resize(first);
      out.insert(out.end(), ids.begin(), ids.end());
    }
  }
}

std::string Pipeline::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  if (decode_by_bytes_) {
    std::string bytes;
    for (const int32_t id : ids) {
      if (id < 0 || static_cast<size_t>(id) >= known_.size() || !known_[id]) continue;
      if (skip_special_tokens && is_special(id)) continue;
      bytes.append(decoded_bytes_, decoded_offsets_[id],
                   decoded_offsets_[id + 1] - decoded_offsets_[id]);
    }
    if (valid_utf8_prefix(bytes) == bytes.size()) return bytes;
    std::string text;
    append_replacing_invalid(bytes, text);
    return text;
  }
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    const std::string* text = token_text(id);
    if (text == nullptr) continue;
    if (skip_special_tokens && is_special(id)) continue;
    tokens.push_back(*text);
  }
  if (!parts_.decoder) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i != 0) joined += ' ';
      joined += tokens[i];
    }
    return joined;
  }
  parts_.decoder->decode_chain(tokens);
  std::string joined;
  for (const std::string& token : tokens) joined += token;
  return joined;
}

std::optional<int32_t> Pipeline::token_to_id(std::string_view token) const {
  if (const AddedToken* added = added_->find(token)) return added->id;
  const int32_t id = parts_.model->token_to_id(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::optional<std::string> Pipeline::id_to_token(int32_t id) const {
  const std::string* text = token_text(id);
  if (text == nullptr) return std::nullopt;
  return *text;
}

}  // namespace lmf::tokenizers::hf
