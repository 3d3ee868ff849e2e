// What a source read, kept, changed and dropped, and why (docs/data.md, "The report").
#pragma once

#include "stages/stage.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace lmf::data {

class Report {
 public:
  struct StageEntry {
    std::string name;
    std::vector<std::string> reasons;
    nlohmann::json params;
    Tally tally;
  };
  enum class FileProblem { missing, empty, unreadable, bad_header };

  Report(std::string component, std::size_t max_errors_listed)
      : component_(std::move(component)), max_errors_listed_(max_errors_listed) {}

  // The stages, in order; the reader's "read" stage first.
  void add_stage(std::string name, std::vector<std::string> reasons, nlohmann::json params);
  // Forgets every count (a seek); the stages and the files listed stay.
  void reset(uint64_t first_id);

  void set_files(uint64_t listed, uint64_t duplicates) {
    files_listed_ = listed;
    files_duplicate_ = duplicates;
  }
  void add_error(std::string origin, std::string reason);
  void add_file_problem(FileProblem problem) { ++file_problems_[static_cast<int>(problem)]; }
  void add_stage_tally(std::size_t stage, const Tally& tally) {
    stages_.at(stage).tally.add(tally);
  }
  void add_input(uint64_t records, uint64_t bytes) {
    records_in_ += records;
    bytes_in_ += bytes;
  }
  void add_output(uint64_t bytes) {
    ++records_out_;
    bytes_out_ += bytes;
  }
  void set_failure(std::string message) { failure_ = std::move(message); }
  void set_finished(bool finished) { finished_ = finished; }

  uint64_t records_in() const { return records_in_; }
  uint64_t records_out() const { return records_out_; }
  uint64_t bytes_in() const { return bytes_in_; }
  const std::vector<StageEntry>& stages() const { return stages_; }

  nlohmann::json to_json() const;

 private:
  std::string component_;
  std::size_t max_errors_listed_;
  std::vector<StageEntry> stages_;
  uint64_t first_id_ = 0;
  uint64_t records_in_ = 0, records_out_ = 0, bytes_in_ = 0, bytes_out_ = 0;
  uint64_t files_listed_ = 0, files_duplicate_ = 0;
  uint64_t file_problems_[4] = {0, 0, 0, 0};
  std::vector<std::pair<std::string, std::string>> errors_;
  uint64_t errors_total_ = 0;
  std::string failure_;
  bool finished_ = false;
};

}  // namespace lmf::data
