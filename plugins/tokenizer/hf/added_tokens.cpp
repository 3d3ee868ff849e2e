#include "added_tokens.h"

#include "utf8.h"

#include <utf8proc.h>

namespace lmf::tokenizers::hf {
namespace {

// Rust regex's \w (HF's single_word test), UTS #18's word characters: Alphabetic, marks,
// decimal digits, connector punctuation, joiners. Alphabetic is the letters, Nl, and
// Other_Alphabetic, whose members outside the marks are the circled and squared letters.
bool is_word_character(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
           cp == '_';
  }
  if (cp == 0x200C || cp == 0x200D) return true;
  if ((cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
      (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189))
    return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

}  // namespace

void TokenTrie::add(std::string_view pattern, int32_t index) {
  if (pattern.empty()) return;
  int32_t node = 0;
  for (char c : pattern) {
    const auto byte = static_cast<unsigned char>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();
      nodes_[static_cast<size_t>(node)].children.emplace_back(byte, next);
    }
    node = next;
  }
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
  if (nodes_[static_cast<size_t>(node)].value < 0) nodes_[static_cast<size_t>(node)].value = index;
}

int32_t TokenTrie::child(int32_t node, unsigned char byte) const {
  for (const auto& [key, next] : nodes_[static_cast<size_t>(node)].children)
    if (key == byte) return next;
  return -1;
}

size_t TokenTrie::next_candidate(std::string_view text, size_t at) const {
  while (at < text.size() && !first_byte_[static_cast<unsigned char>(text[at])]) ++at;
  return at;
}

int32_t TokenTrie::longest_at(std::string_view text, size_t at, size_t& length) const {
  int32_t node = 0, found = -1;
  for (size_t i = at; i < text.size(); ++i) {
    node = child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    if (nodes_[static_cast<size_t>(node)].value >= 0) {
      found = nodes_[static_cast<size_t>(node)].value;
      length = i + 1 - at;
    }
  }
  return found;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer* normalizer)
    : tokens_(std::move(tokens)) {
  // HF matches special tokens first in its lists, then the others; leftmost-longest makes
  // the order matter only between equal contents, where the first one wins.
  std::vector<size_t> order;
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (tokens_[i].special) order.push_back(i);
  for (size_t i = 0; i < tokens_.size(); ++i)
    if (!tokens_[i].special) order.push_back(i);
  std::string normalized;
  for (size_t i : order) {
    const AddedToken& token = tokens_[i];
    by_content_.emplace(token.content, i);
    by_id_.emplace(token.id, i);
    if (token.content.empty()) continue;
    if (!token.normalized) {
      raw_trie_.add(token.content, static_cast<int32_t>(raw_ids_.size()));
      raw_ids_.push_back(static_cast<int32_t>(i));
      continue;
    }
    std::string_view pattern = token.content;
    pcre2_match_data* match_data = Regex::new_match_data();
    if (normalizer != nullptr && normalizer->normalize(pattern, normalized, match_data))
      pattern = normalized;
    pcre2_match_data_free(match_data);
    normalized_trie_.add(pattern, static_cast<int32_t>(normalized_ids_.size()));
    normalized_ids_.push_back(static_cast<int32_t>(i));
  }
}

const AddedToken* AddedVocabulary::find(std::string_view content) const {
  if (tokens_.empty()) return nullptr;
  const auto found = by_content_.find(std::string(content));
  return found == by_content_.end() ? nullptr : &tokens_[found->second];
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  if (tokens_.empty()) return nullptr;
  const auto found = by_id_.find(id);
  return found == by_id_.end() ? nullptr : &tokens_[found->second];
}

void AddedVocabulary::find_matches(const TokenTrie& trie, const std::vector<int32_t>& ids,
                                   const Piece& piece, PieceList& list,
                                   std::vector<Piece>& out) const {
  const std::string_view sentence = list.view(piece);
  auto push = [&](size_t begin, size_t end, int32_t id) {
    if (end <= begin) return;
    Piece part = piece;
    part.begin = piece.begin + static_cast<uint32_t>(begin);
    part.end = piece.begin + static_cast<uint32_t>(end);
    part.added_id = id;
    if (begin != 0) part.flags &= ~Piece::kAtStart;
    out.push_back(part);
  };
  size_t start_offset = 0;  // end of the last piece pushed
  size_t at = trie.next_candidate(sentence, 0);
  while (at < sentence.size()) {
    size_t length = 0;
    const int32_t match = trie.longest_at(sentence, at, length);
    if (match < 0) {
      at = trie.next_candidate(sentence, at + 1);
      continue;
    }
    size_t start = at, stop = at + length;
    at = trie.next_candidate(sentence, stop);  // the search goes on after the match
    const AddedToken& token = tokens_[static_cast<size_t>(ids[static_cast<size_t>(match)])];
    if (token.single_word) {
      const bool start_space =
          start == 0 || !is_word_character(previous_code_point(sentence, start));
      size_t next = stop;
      const bool stop_space =
          stop == sentence.size() || !is_word_character(next_code_point(sentence, next));
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip) {
      size_t new_start = start;
      while (new_start > 0) {
        const char32_t cp = previous_code_point(sentence, new_start);
        if (!is_unicode_whitespace(cp)) break;
        std::string utf8;
        append_utf8(cp, utf8);
        new_start -= utf8.size();
      }
      start = std::max(new_start, start_offset);
    }
    if (token.rstrip) {
      while (stop < sentence.size()) {
        size_t next = stop;
        if (!is_unicode_whitespace(next_code_point(sentence, next))) break;
        stop = next;
      }
    }
    if (start_offset < start) push(start_offset, start, -1);
    push(start, stop, token.id);
    start_offset = stop;
  }
  if (start_offset < sentence.size()) push(start_offset, sentence.size(), -1);
}

void AddedVocabulary::split(Workspace& ws, const Normalizer* normalizer) const {
  PieceList& list = ws.list;
  list.pieces.clear();
  const Piece whole{0, static_cast<uint32_t>(list.text.size()), -1, Piece::kAtStart};
  if (whole.end == 0) return;
  if (raw_trie_.empty())
    list.pieces.push_back(whole);
  else
    find_matches(raw_trie_, raw_ids_, whole, list, list.pieces);
  if (normalizer == nullptr && normalized_trie_.empty()) return;

  ws.scratch.clear();
  for (const Piece& piece : list.pieces) {
    if (piece.is_added()) {
      ws.scratch.push_back(piece);
      continue;
    }
    Piece text = piece;
    if (normalizer != nullptr && normalizer->normalize(list.view(piece), ws.buffer, ws.match_data))
      text = list.append_text(ws.buffer, piece.flags);
    if (text.end == text.begin) continue;
    if (normalized_trie_.empty())
      ws.scratch.push_back(text);
    else
      find_matches(normalized_trie_, normalized_ids_, text, list, ws.scratch);
  }
  list.pieces.swap(ws.scratch);
}

}  // namespace lmf::tokenizers::hf
