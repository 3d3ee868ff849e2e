#include "stages/pii_mask.h"

namespace lmf::data {

PiiMask::PiiMask(PiiOptions options)
    : TransformStage("pii_mask", {"email", "phone", "card", "cn_id"}), rules_(std::move(options)) {}

bool PiiMask::transform(std::string& text, Tally& tally) const {
  const PiiCounts counts = rules_.mask(text);
  tally.reasons[kEmail] += counts.email;
  tally.reasons[kPhone] += counts.phone;
  tally.reasons[kCard] += counts.card;
  tally.reasons[kCnId] += counts.cn_id;
  return counts.total() > 0;
}

nlohmann::json PiiMask::params() const {
  const PiiOptions& o = rules_.options();
  return {{"email", o.email},
          {"phone", o.phone},
          {"card", o.card},
          {"cn_id", o.cn_id},
          {"email_replacement", o.email_replacement},
          {"phone_replacement", o.phone_replacement},
          {"cn_id_mask", o.cn_id_mask == IdMask::full ? "full" : "partial"}};
}

}  // namespace lmf::data
