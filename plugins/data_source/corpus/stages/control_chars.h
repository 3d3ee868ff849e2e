// Control and junk characters (Note [Junk characters]).
#pragma once

#include "stages/stage.h"

#include <string>

namespace lmf::data {

// Note [Junk characters]
// Always removed: C0 and C1 controls (category Cc) except tab, line feed and carriage
// return, and Unicode noncharacters (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF). Removed by
// default: format characters (category Cf: zero-width space, soft hyphen, byte order
// mark, bidirectional embeddings and isolates, word joiner…) except ZWNJ U+200C and ZWJ
// U+200D, which emoji sequences and several scripts need, and the tag characters
// U+E0020..U+E007F of flag emoji; private-use characters (icon fonts, broken PDF text).
// Optionally: U+FFFD, which marks bytes that were not UTF-8; and runs of one repeated
// symbol (is_symbol, or one of -.=~*#_ ) longer than max_symbol_run, cut to that length
// ("==========" → "===" with 3). Letters, digits, punctuation and symbols of every script,
// emoji included, are kept: the seeds' [^\w\s.,!?] would delete Chinese punctuation.
struct JunkOptions {
  bool remove_format = true;
  bool remove_private_use = true;
  bool remove_replacement_char = false;
  int max_symbol_run = 0;  // 0: runs are kept
};

class ControlChars final : public TransformStage {
 public:
  enum Reason { kControl, kFormat, kPrivateUse, kNoncharacter, kReplacementChar, kSymbolRun };
  explicit ControlChars(JunkOptions options);
  bool transform(std::string& text, Tally& tally) const override;
  nlohmann::json params() const override;

 private:
  JunkOptions options_;
};

}  // namespace lmf::data
