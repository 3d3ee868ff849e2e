#include "stages/stage.h"

namespace lmf::data {

void Tally::add(const Tally& other) {
  changed += other.changed;
  dropped += other.dropped;
  if (reasons.size() < other.reasons.size()) reasons.resize(other.reasons.size(), 0);
  for (std::size_t i = 0; i < other.reasons.size(); ++i) reasons[i] += other.reasons[i];
}

Verdict TransformStage::process(Record& record, Tally& tally) const {
  bool changed = false;
  for (std::string& part : record.parts) changed = transform(part, tally) || changed;
  if (changed) {
    ++tally.changed;
    record.parts_changed();
  }
  return Verdict::keep;
}

}  // namespace lmf::data
