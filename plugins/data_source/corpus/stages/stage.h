// A cleaning stage: transforms or judges records, and counts what it did (Note [Stage
// counters]). Stages with state (deduplication) decide serially, in record order
// (Note [Determinism]).
#pragma once

#include "pipeline/record.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::data {

// Note [Stage counters]
// Every stage has a `changed` and a `dropped` count of records, and named reasons.
// A transforming stage counts in `changed` the records it modified and in its reasons the
// occurrences it handled (URLs removed, e-mail addresses masked, characters removed); a
// judging stage counts in `dropped` the records it removed and in its reasons why, one
// reason per dropped record. A record dropped by one stage is not seen by later stages.
struct Tally {
  uint64_t changed = 0;
  uint64_t dropped = 0;
  std::vector<uint64_t> reasons;  // indexed like Stage::reasons()

  void add(const Tally& other);
};

enum class Verdict { keep, drop };

class Stage {
 public:
  Stage(std::string name, std::vector<std::string> reasons)
      : name_(std::move(name)), reasons_(std::move(reasons)) {}
  virtual ~Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<std::string>& reasons() const { return reasons_; }
  Tally make_tally() const {
    Tally tally;
    tally.reasons.assign(reasons_.size(), 0);
    return tally;
  }

  // Thread-safe: called for many records at once. Cleans or judges `record`, counting in
  // `tally` (Note [Stage counters]).
  virtual Verdict process(Record& record, Tally& tally) const = 0;

  // Stateful stages only: called after process(), one record at a time, in record order.
  virtual bool stateful() const { return false; }
  virtual Verdict decide(Record& record, Tally& tally) {
    (void)record;
    (void)tally;
    return Verdict::keep;
  }
  // Forgets the state (a seek back to the start).
  virtual void reset() {}

  // The effective parameters, shown in the report.
  virtual nlohmann::json params() const { return nlohmann::json::object(); }

 private:
  std::string name_;
  std::vector<std::string> reasons_;
};

// A stage that rewrites every part of a record with one text function.
class TransformStage : public Stage {
 public:
  using Stage::Stage;
  Verdict process(Record& record, Tally& tally) const final;

  // Rewrites `text` (valid UTF-8, stays valid), counting occurrences into `tally.reasons`;
  // returns whether it changed.
  virtual bool transform(std::string& text, Tally& tally) const = 0;
};

}  // namespace lmf::data
