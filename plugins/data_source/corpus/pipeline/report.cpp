#include "pipeline/report.h"

namespace lmf::data {

using nlohmann::json;

void Report::add_stage(std::string name, std::vector<std::string> reasons, json params) {
  StageEntry entry{std::move(name), std::move(reasons), std::move(params), {}};
  entry.tally.reasons.assign(entry.reasons.size(), 0);
  stages_.push_back(std::move(entry));
}

void Report::reset(uint64_t first_id) {
  first_id_ = first_id;
  records_in_ = records_out_ = bytes_in_ = bytes_out_ = 0;
  for (StageEntry& stage : stages_) {
    stage.tally = Tally{};
    stage.tally.reasons.assign(stage.reasons.size(), 0);
  }
  for (uint64_t& count : file_problems_) count = 0;
  errors_.clear();
  errors_total_ = 0;
  failure_.clear();
  finished_ = false;
}

void Report::add_error(std::string origin, std::string reason) {
  ++errors_total_;
  if (errors_.size() < max_errors_listed_)
    errors_.emplace_back(std::move(origin), std::move(reason));
}

json Report::to_json() const {
  json stages = json::array();
  uint64_t dropped = 0;
  for (const StageEntry& stage : stages_) {
    json reasons = json::object();
    for (std::size_t i = 0; i < stage.reasons.size(); ++i)
      reasons[stage.reasons[i]] = stage.tally.reasons[i];
    stages.push_back({{"name", stage.name},
                      {"changed", stage.tally.changed},
                      {"dropped", stage.tally.dropped},
                      {"reasons", reasons},
                      {"params", stage.params}});
    dropped += stage.tally.dropped;
  }
  json errors = json::array();
  for (const auto& [origin, reason] : errors_)
    errors.push_back({{"origin", origin}, {"reason", reason}});
  json out = {{"component", component_},
              {"first_id", first_id_},
              {"records_in", records_in_},
              {"records_out", records_out_},
              {"records_dropped", dropped},
              {"bytes_in", bytes_in_},
              {"bytes_out", bytes_out_},
              {"finished", finished_},
              {"files",
               {{"listed", files_listed_},
                {"duplicate", files_duplicate_},
                {"missing", file_problems_[static_cast<int>(FileProblem::missing)]},
                {"empty", file_problems_[static_cast<int>(FileProblem::empty)]},
                {"unreadable", file_problems_[static_cast<int>(FileProblem::unreadable)]},
                {"bad_header", file_problems_[static_cast<int>(FileProblem::bad_header)]}}},
              {"stages", stages},
              {"errors", errors},
              {"errors_total", errors_total_},
              {"errors_listed", errors_.size()}};
  if (!failure_.empty()) out["failure"] = failure_;
  return out;
}

}  // namespace lmf::data
