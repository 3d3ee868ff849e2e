// PII masking stage: e-mail addresses, phone numbers, payment cards, Chinese resident IDs
// (Note [PII rules]); each kind counted in the report.
#pragma once

#include "stages/pii_rules.h"
#include "stages/stage.h"

namespace lmf::data {

class PiiMask final : public TransformStage {
 public:
  enum Reason { kEmail, kPhone, kCard, kCnId };
  explicit PiiMask(PiiOptions options);
  bool transform(std::string& text, Tally& tally) const override;
  nlohmann::json params() const override;

 private:
  PiiRules rules_;
};

}  // namespace lmf::data
