// Unicode normalization (utf8proc): NFC composes canonically equivalent sequences; NFKC
// also folds compatibility characters (full-width Ｌａｔｉｎ and digits, ligatures,
// circled numbers) into their plain forms.
#pragma once

#include "stages/stage.h"

#include <string>
#include <string_view>

namespace lmf::data {

enum class NormalForm { nfc, nfkc };

// `text` must be valid UTF-8.
std::string normalize(std::string_view text, NormalForm form);

class UnicodeNormalize final : public TransformStage {
 public:
  explicit UnicodeNormalize(NormalForm form);
  bool transform(std::string& text, Tally& tally) const override;
  nlohmann::json params() const override;

 private:
  NormalForm form_;
};

}  // namespace lmf::data
