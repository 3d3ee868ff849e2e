// White-space normalization (Note [White space]).
#pragma once

#include "stages/stage.h"

#include <string>
#include <string_view>

namespace lmf::data {

// Note [White space]
// Line breaks are "\n", "\r\n", "\r", U+0085, U+2028 and U+2029; every other Unicode
// White_Space character (tab, NBSP, U+3000 IDEOGRAPHIC SPACE, the U+2000 spaces, …) is a
// space. With keep_newlines, each line break becomes "\n", runs of spaces become one
// ASCII space, spaces at the start and end of lines go, and more than one blank line in
// a row becomes one (paragraphs stay apart). Without it, every run of white space becomes
// one space (the seeds' ' '.join(text.split())). Leading and trailing white space of the
// text goes in both modes. Indentation is lost: this is for prose, not code.
std::string normalize_whitespace(std::string_view text, bool keep_newlines);

class Whitespace final : public TransformStage {
 public:
  explicit Whitespace(bool keep_newlines);
  bool transform(std::string& text, Tally& tally) const override;
  nlohmann::json params() const override { return {{"keep_newlines", keep_newlines_}}; }

 private:
  bool keep_newlines_;
};

}  // namespace lmf::data
