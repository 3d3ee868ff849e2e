#include "pre_tokenizers.h"

#include "byte_level.h"
#include "utf8.h"

#include <utf8proc.h>

namespace lmf::tokenizers::hf {

const char* const kByteLevelPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

void materialize_byte_level(PieceList& list, Piece& piece) {
  if (!piece.has(Piece::kByteLevel)) return;
  std::string mapped;
  ByteLevelAlphabet::get().encode(list.view(piece), mapped);
  const uint8_t flags = piece.flags & ~Piece::kByteLevel;
  piece = list.append_text(mapped, flags);
}

namespace {

// Replaces ws.list.pieces by what `split_one` makes of each piece that is not an added
// token. split_one(piece, emit) calls emit(Piece) for each part; empty parts are dropped,
// as HF drops empty splits.
template <class SplitOne>
void split_pieces(Workspace& ws, SplitOne&& split_one) {
  ws.scratch.clear();
  auto emit = [&](const Piece& part) {
    if (part.end > part.begin) ws.scratch.push_back(part);
  };
  for (Piece& piece : ws.list.pieces) {
    if (piece.is_added()) {
      ws.scratch.push_back(piece);
      continue;
    }
    split_one(piece, emit);
  }
  ws.list.pieces.swap(ws.scratch);
}

// The part [begin, end) of `piece` (offsets relative to the piece).
Piece part_of(const Piece& piece, size_t begin, size_t end) {
  Piece part = piece;
  part.begin = piece.begin + static_cast<uint32_t>(begin);
  part.end = piece.begin + static_cast<uint32_t>(end);
  if (begin != 0) part.flags &= ~Piece::kAtStart;
  return part;
}

// Matches and the text between them, covering `text` (HF's Pattern::find_matches).
void find_ranges(const Regex& regex, std::string_view text, Workspace& ws, bool invert) {
  ws.ranges.clear();
  if (text.empty()) {
    ws.ranges.push_back({0, 0, invert});
    return;
  }
  uint32_t previous = 0;
  regex.for_each_match(text, ws.match_data, [&](size_t begin, size_t end) {
    if (previous != begin) ws.ranges.push_back({previous, static_cast<uint32_t>(begin), invert});
    ws.ranges.push_back({static_cast<uint32_t>(begin), static_cast<uint32_t>(end), !invert});
    previous = static_cast<uint32_t>(end);
  });
  if (previous != text.size())
    ws.ranges.push_back({previous, static_cast<uint32_t>(text.size()), invert});
}

// Applies a SplitBehavior to ws.ranges (HF's NormalizedString::split), emitting parts.
template <class Emit>
void apply_behavior(SplitBehavior behavior, const Piece& piece, Workspace& ws, Emit&& emit) {
  std::vector<Range>& ranges = ws.ranges;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Range& range : ranges) emit(part_of(piece, range.begin, range.end));
      return;
    case SplitBehavior::kRemoved:
      for (const Range& range : ranges)
        if (!range.is_match) emit(part_of(piece, range.begin, range.end));
      return;
    case SplitBehavior::kContiguous: {
      size_t out = 0;
      bool previous_match = false;
      for (size_t i = 0; i < ranges.size(); ++i) {
        if (ranges[i].is_match == previous_match && out > 0) {
          ranges[out - 1].end = ranges[i].end;
        } else {
          ranges[out++] = ranges[i];
        }
        previous_match = ranges[i].is_match;
      }
      for (size_t i = 0; i < out; ++i) emit(part_of(piece, ranges[i].begin, ranges[i].end));
      return;
    }
    case SplitBehavior::kMergedWithPrevious: {
      size_t out = 0;
      bool previous_match = false;
      for (size_t i = 0; i < ranges.size(); ++i) {
        if (ranges[i].is_match && !previous_match && out > 0) {
          ranges[out - 1].end = ranges[i].end;
        } else {
          ranges[out++] = ranges[i];
        }
        previous_match = ranges[i].is_match;
      }
      for (size_t i = 0; i < out; ++i) emit(part_of(piece, ranges[i].begin, ranges[i].end));
      return;
    }
    case SplitBehavior::kMergedWithNext: {
      // Walks from the end: a match followed by a non-match joins what follows it.
      std::vector<Range> merged;
      merged.reserve(ranges.size());
      bool previous_match = false;
      for (size_t i = ranges.size(); i-- > 0;) {
        if (ranges[i].is_match && !previous_match && !merged.empty()) {
          merged.back().begin = ranges[i].begin;
        } else {
          merged.push_back(ranges[i]);
        }
        previous_match = ranges[i].is_match;
      }
      for (size_t i = merged.size(); i-- > 0;) emit(part_of(piece, merged[i].begin, merged[i].end));
      return;
    }
  }
}

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space),
        regex_(use_regex ? std::make_unique<Regex>(kByteLevelPattern) : nullptr) {}

  void pre_tokenize(Workspace& ws) const override {
    split_pieces(ws, [&](Piece piece, auto& emit) {
      materialize_byte_level(ws.list, piece);
      if (add_prefix_space_ && ws.list.text[piece.begin] != ' ') {
        const std::string_view text = ws.list.view(piece);
        ws.buffer.resize(text.size() + 1);
        ws.buffer[0] = ' ';
        text.copy(ws.buffer.data() + 1, text.size());
        piece = ws.list.append_text(ws.buffer, piece.flags);
      }
      piece.flags |= Piece::kByteLevel;
      if (!regex_) {
        emit(piece);
        return;
      }
      const std::string_view text = ws.list.view(piece);
      size_t previous = 0;
      regex_->for_each_match(text, ws.match_data, [&](size_t begin, size_t end) {
        if (previous != begin) emit(part_of(piece, previous, begin));
        emit(part_of(piece, begin, end));
        previous = end;
      });
      if (previous != text.size()) emit(part_of(piece, previous, text.size()));
    });
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Regex> pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  void pre_tokenize(Workspace& ws) const override {
    split_pieces(ws, [&](Piece piece, auto& emit) {
      materialize_byte_level(ws.list, piece);
      const std::string_view text = ws.list.view(piece);
      if (behavior_ == SplitBehavior::kIsolated) {
        // The common case, without the list of ranges.
        size_t previous = 0;
        pattern_->for_each_match(text, ws.match_data, [&](size_t begin, size_t end) {
          if (previous != begin) emit(part_of(piece, previous, begin));
          emit(part_of(piece, begin, end));
          previous = end;
        });
        if (previous != text.size()) emit(part_of(piece, previous, text.size()));
        return;
      }
      find_ranges(*pattern_, text, ws, invert_);
      apply_behavior(behavior_, piece, ws, emit);
    });
  }

 private:
  std::unique_ptr<Regex> pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

bool is_numeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category == UTF8PROC_CATEGORY_ND || category == UTF8PROC_CATEGORY_NL ||
         category == UTF8PROC_CATEGORY_NO;
}

// A Split by a predicate on characters, each matching character a match of its own
// (HF's Pattern for Fn(char) -> bool).
template <class Predicate>
void find_char_ranges(std::string_view text, Workspace& ws, Predicate&& predicate) {
  ws.ranges.clear();
  if (text.empty()) {
    ws.ranges.push_back({0, 0, false});
    return;
  }
  uint32_t previous = 0;
  size_t at = 0;
  while (at < text.size()) {
    const auto begin = static_cast<uint32_t>(at);
    const char32_t cp = next_code_point(text, at);
    if (!predicate(cp)) continue;
    if (previous < begin) ws.ranges.push_back({previous, begin, false});
    ws.ranges.push_back({begin, static_cast<uint32_t>(at), true});
    previous = static_cast<uint32_t>(at);
  }
  if (previous < text.size()) ws.ranges.push_back({previous, static_cast<uint32_t>(at), false});
}

class DigitsPreTokenizer final : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits) : individual_(individual_digits) {}
  void pre_tokenize(Workspace& ws) const override {
    split_pieces(ws, [&](Piece piece, auto& emit) {
      materialize_byte_level(ws.list, piece);
      find_char_ranges(ws.list.view(piece), ws, is_numeric);
      apply_behavior(individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, piece, ws,
                     emit);
    });
  }

 private:
  bool individual_;
};

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {
    size_t at = 0;
    replacement_cp_ = replacement_.empty() ? 0 : next_code_point(replacement_, at);
  }

  void pre_tokenize(Workspace& ws) const override {
    split_pieces(ws, [&](Piece piece, auto& emit) {
      materialize_byte_level(ws.list, piece);
      const std::string_view text = ws.list.view(piece);
      std::string& out = ws.buffer;
      out.clear();
      const bool starts_with_replacement =
          text.starts_with(" ") || text.starts_with(std::string_view(replacement_));
      const bool prepend = !starts_with_replacement &&
                           (scheme_ == PrependScheme::kAlways ||
                            (scheme_ == PrependScheme::kFirst && piece.has(Piece::kAtStart)));
      if (prepend) out.append(replacement_);
      for (char c : text) {
        if (c == ' ')
          out.append(replacement_);
        else
          out.push_back(c);
      }
      piece = ws.list.append_text(out, piece.flags);
      if (!split_) {
        emit(piece);
        return;
      }
      const std::string_view replaced = ws.list.view(piece);
      find_char_ranges(replaced, ws, [&](char32_t cp) { return cp == replacement_cp_; });
      apply_behavior(SplitBehavior::kMergedWithNext, piece, ws, emit);
    });
  }

 private:
  std::string replacement_;
  char32_t replacement_cp_;
  PrependScheme scheme_;
  bool split_;
};

class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  WhitespacePreTokenizer() : regex_(R"(\w+|[^\w\s]+)") {}
  void pre_tokenize(Workspace& ws) const override {
    split_pieces(ws, [&](Piece piece, auto& emit) {
      materialize_byte_level(ws.list, piece);
      find_ranges(regex_, ws.list.view(piece), ws, /*invert=*/true);
      apply_behavior(SplitBehavior::kRemoved, piece, ws, emit);
    });
  }

 private:
  Regex regex_;
};

class WhitespaceSplitPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(Workspace& ws) const override {
    split_pieces(ws, [&](Piece piece, auto& emit) {
      materialize_byte_level(ws.list, piece);
      find_char_ranges(ws.list.view(piece), ws, is_unicode_whitespace);
      apply_behavior(SplitBehavior::kRemoved, piece, ws, emit);
    });
  }
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> pre_tokenizers)
      : pre_tokenizers_(std::move(pre_tokenizers)) {}
  void pre_tokenize(Workspace& ws) const override {
    for (const auto& pre_tokenizer : pre_tokenizers_) pre_tokenizer->pre_tokenize(ws);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> pre_tokenizers_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, use_regex);
}
std::unique_ptr<PreTokenizer> make_split_pre_tokenizer(std::unique_ptr<Regex> pattern,
                                                       SplitBehavior behavior, bool invert) {
  return std::make_unique<SplitPreTokenizer>(std::move(pattern), behavior, invert);
}
std::unique_ptr<PreTokenizer> make_digits_pre_tokenizer(bool individual_digits) {
  return std::make_unique<DigitsPreTokenizer>(individual_digits);
}
std::unique_ptr<PreTokenizer> make_metaspace_pre_tokenizer(std::string replacement,
                                                           PrependScheme scheme, bool split) {
  return std::make_unique<MetaspacePreTokenizer>(std::move(replacement), scheme, split);
}
std::unique_ptr<PreTokenizer> make_whitespace_pre_tokenizer() {
  return std::make_unique<WhitespacePreTokenizer>();
}
std::unique_ptr<PreTokenizer> make_whitespace_split_pre_tokenizer() {
  return std::make_unique<WhitespaceSplitPreTokenizer>();
}
std::unique_ptr<PreTokenizer> make_sequence_pre_tokenizer(
    std::vector<std::unique_ptr<PreTokenizer>> pre_tokenizers) {
  return std::make_unique<SequencePreTokenizer>(std::move(pre_tokenizers));
}

}  // namespace lmf::tokenizers::hf
