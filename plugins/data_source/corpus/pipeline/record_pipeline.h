// The record pipeline: reader → parse and clean in parallel → stateful stages serially →
// in-order output, on oneTBB's parallel_pipeline (Note [Determinism]). Records that
// cleaning left without text are dropped at the end (stage "output", reason empty_text).
#pragma once

#include "io/input_files.h"
#include "pipeline/report.h"
#include "readers/reader.h"
#include "source_config.h"
#include "stages/stage.h"

#include <lmf/sdk/data_source.h>

#include <tbb/task_arena.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace lmf::data {

// Note [Determinism]
// The output must not depend on the thread count. The serial-in-order reader cuts the
// input into batches and numbers the records; parsing and the stateless stages run on
// batches in parallel; each stateful stage (exact_dedup, near_dedup) computes its key or
// signature in the parallel part but decides in a serial-in-order filter of its own, so
// it sees the records in input order; later stages run in parallel again; the last
// filter, serial in order, counts and emits. So every record meets the stages in the
// configured order with the same state as in a one-thread run, and the counts, the error
// list and the output are the same for any `threads`.
//
// Note [Seek]
// seek(id) starts over at the record numbered `id`: it rewinds the reader and the stages
// and restarts the report (its first_id is `id`). Without stateful stages it skips the
// records before `id` cheaply: their bytes are scanned for line ends, never stored,
// parsed or cleaned. With exact_dedup or near_dedup it must rebuild their state, or a
// resumed run would keep records the uninterrupted run dropped: it runs the records
// before `id` through the stages with the output and the counts discarded. Either way the
// records then returned are exactly those with ids >= `id` of an uninterrupted run.
struct PipelineOptions {
  std::size_t threads = 0;  // 0: all cores; more than the cores is capped to them
  OnError on_error = OnError::skip;
  std::size_t batch_records = 256;  // records per batch (the unit of parallel work)
  std::size_t batch_bytes = std::size_t{4} << 20;
};

class RecordPipeline {
 public:
  RecordPipeline(std::unique_ptr<Reader> reader, std::vector<std::unique_ptr<Stage>> stages,
                 PipelineOptions options, Report& report, std::vector<InputProblem> input_problems);
  ~RecordPipeline();

  // Up to `max_records` records; empty only at the end of the stream. Throws
  // lmf::sdk::Error: LMF_ERR_DATA for bad input under on_error "fail" (after the records
  // before it were returned), LMF_ERR_CANCELLED when `cancelled` says so.
  std::vector<sdk::Record> next(std::size_t max_records, const std::function<bool()>& cancelled);
  void seek(uint64_t record_id, const std::function<bool()>& cancelled);

  bool finished() const { return at_end_ && queue_.empty() && failure_.empty(); }
  uint64_t bytes_consumed() const { return reader_->bytes_consumed(); }

 private:
  struct Batch;
  struct Segment {
    bool serial = false;
    std::size_t first = 0, last = 0;  // stage indexes [first, last)
  };
  void reset_report(uint64_t first_id);
  void run_round(std::size_t wanted, const std::function<bool()>& cancelled);
  Batch* read_batch(const std::function<bool()>& cancelled);
  void parse_and_clean(Batch& batch, const Segment& segment, bool parse) const;
  void decide(Batch& batch, std::size_t stage);
  void emit(Batch& batch);

  std::unique_ptr<Reader> reader_;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<Segment> segments_;
  bool stateful_ = false;
  PipelineOptions options_;
  Report& report_;
  std::vector<InputProblem> input_problems_;
  std::unique_ptr<tbb::task_arena> arena_;

  std::deque<sdk::Record> queue_;
  bool at_end_ = false;
  bool replaying_ = false;
  uint64_t limit_id_ = std::numeric_limits<uint64_t>::max();
  // Records held at once: a round reads at most round_target_ records or kRoundBytes.
  static constexpr uint64_t kRoundBytes = uint64_t{64} << 20;
  std::size_t round_target_ = 0, round_read_ = 0;
  uint64_t round_bytes_ = 0;
  std::atomic<bool> stop_round_{false};  // set by the emitter, read by the reader filter
  std::string failure_;                  // the error that ended the stream
  lmf_status_code failure_code_ = LMF_OK;
};

}  // namespace lmf::data
