#include "pipeline/record_pipeline.h"

#include <lmf/sdk/error.h>

#include <tbb/info.h>
#include <tbb/parallel_pipeline.h>

#include <dlfcn.h>

#include <algorithm>
#include <mutex>
#include <unordered_set>

namespace lmf::data {

struct RecordPipeline::Batch {
  struct Slot {
    ReadEvent event;
    Record record;
    ParseError error;
    bool dropped = false;
  };
  std::vector<Slot> slots;
  std::vector<Tally> tallies;  // 0: read, 1 + i: stage i, last: output
  uint64_t records = 0;
  uint64_t bytes_in = 0;
};

namespace {

// Note [oneTBB stays loaded]
// oneTBB's worker threads outlive the parallel work: they sleep inside libtbb until the
// process ends. The host unloads a plugin when its last instance is gone, and with the
// plugin the dynamic loader would unload libtbb (only the plugin needs it) under those
// sleeping threads. So the first pipeline pins libtbb for the life of the process (a
// dlopen never closed, RTLD_NODELETE). The workers run no plugin code once a pipeline
// has returned, so the plugin itself still unloads.
void keep_tbb_loaded() {
  static void* const handle = dlopen(LMF_TBB_SONAME, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  (void)handle;
}

// "a.jsonl:3: malformed JSON…" → "malformed JSON…" when the message starts with its origin.
std::string reason_of(const std::string& message, const std::string& origin) {
  if (message.size() > origin.size() + 2 && message.compare(0, origin.size(), origin) == 0 &&
      message.compare(origin.size(), 2, ": ") == 0)
    return message.substr(origin.size() + 2);
  return message;
}

}  // namespace

RecordPipeline::RecordPipeline(std::unique_ptr<Reader> reader,
                               std::vector<std::unique_ptr<Stage>> stages, PipelineOptions options,
                               Report& report, std::vector<InputProblem> input_problems)
    : reader_(std::move(reader)),
      stages_(std::move(stages)),
      options_(options),
      report_(report),
      input_problems_(std::move(input_problems)) {
  keep_tbb_loaded();
  options_.batch_records = std::max<std::size_t>(1, options_.batch_records);
  // Note [Determinism]: a stateful stage computes in the parallel segment before it and
  // decides in a serial segment of its own.
  segments_.push_back({false, 0, 0});
  for (std::size_t i = 0; i < stages_.size(); ++i) {
    segments_.back().last = i + 1;
    if (stages_[i]->stateful()) {
      stateful_ = true;
      segments_.push_back({true, i, i + 1});
      segments_.push_back({false, i + 1, i + 1});
    }
  }
  report_.add_stage("read", reader_->reasons(), nlohmann::json::object());
  for (const auto& stage : stages_)
    report_.add_stage(stage->name(), stage->reasons(), stage->params());
  report_.add_stage("output", {"empty_text"}, nlohmann::json::object());
  // More threads than cores would only make oneTBB warn that it refuses the workers.
  const std::size_t cores = static_cast<std::size_t>(std::max(1, tbb::info::default_concurrency()));
  const std::size_t threads = options_.threads == 0 ? cores : std::min(options_.threads, cores);
  arena_ = std::make_unique<tbb::task_arena>(static_cast<int>(threads));
  reset_report(0);
}

RecordPipeline::~RecordPipeline() = default;

void RecordPipeline::reset_report(uint64_t first_id) {
  report_.reset(first_id);
  for (const InputProblem& problem : input_problems_) {
    report_.add_error(problem.input, problem.message);
    report_.add_file_problem(Report::FileProblem::missing);
  }
}

RecordPipeline::Batch* RecordPipeline::read_batch(const std::function<bool()>& cancelled) {
  if (stop_round_ || at_end_ || round_read_ >= round_target_ || round_bytes_ >= kRoundBytes)
    return nullptr;
  if (cancelled && cancelled()) sdk::fail(LMF_ERR_CANCELLED, "cancelled");
  auto batch = std::make_unique<Batch>();
  batch->tallies.push_back(Tally{});
  batch->tallies.back().reasons.assign(reader_->reasons().size(), 0);
  for (const auto& stage : stages_) batch->tallies.push_back(stage->make_tally());
  batch->tallies.push_back(Tally{0, 0, {0}});
  const uint64_t start_bytes = reader_->bytes_consumed();
  uint64_t bytes = 0;
  while (batch->records < options_.batch_records && bytes < options_.batch_bytes) {
    if (reader_->next_id() >= limit_id_) {
      stop_round_ = true;
      break;
    }
    Batch::Slot slot;
    if (!reader_->next(slot.event)) {
      at_end_ = true;
      break;
    }
    if (slot.event.is_record) {
      bytes += slot.event.raw.size;
      ++batch->records;
      ++round_read_;
    }
    batch->slots.push_back(std::move(slot));
  }
  batch->bytes_in = reader_->bytes_consumed() - start_bytes;
  round_bytes_ += bytes;
  // A batch of no record still carries the bytes read past (trailing blank lines).
  if (batch->slots.empty() && batch->bytes_in == 0) return nullptr;
  return batch.release();
}

void RecordPipeline::parse_and_clean(Batch& batch, const Segment& segment, bool parse) const {
  for (Batch::Slot& slot : batch.slots) {
    if (!slot.event.is_record || slot.dropped) continue;
    Record& record = slot.record;
    if (parse) {
      RawRecord& raw = slot.event.raw;
      bool repaired = false;
      slot.error = reader_->parse(raw, record, repaired);
      record.id = raw.id;
      // The raw origin names a bad record in the error list; a good one moves on.
      record.origin = slot.error ? raw.origin : std::move(raw.origin);
      std::string().swap(raw.bytes);
      Tally& read = batch.tallies[0];
      if (slot.error) {
        slot.dropped = true;
        ++read.dropped;
        ++read.reasons[static_cast<std::size_t>(slot.error.reason)];
        continue;
      }
      if (repaired) {
        ++read.changed;
        ++read.reasons[Reader::kInvalidUtf8Replaced];
      }
    }
    for (std::size_t i = segment.first; i < segment.last; ++i) {
      if (stages_[i]->process(record, batch.tallies[i + 1]) == Verdict::drop) {
        slot.dropped = true;
        break;
      }
    }
  }
}

void RecordPipeline::decide(Batch& batch, std::size_t stage) {
  for (Batch::Slot& slot : batch.slots) {
    if (!slot.event.is_record || slot.dropped) continue;
    if (stages_[stage]->decide(slot.record, batch.tallies[stage + 1]) == Verdict::drop)
      slot.dropped = true;
  }
}

void RecordPipeline::emit(Batch& batch) {
  if (replaying_ || !failure_.empty()) return;
  if (options_.on_error == OnError::fail) {
    // Note [Determinism]: the first bad input in record order ends the stream; this batch
    // is neither counted nor returned, so the report stays consistent and a resumed run
    // starts before it.
    for (const Batch::Slot& slot : batch.slots) {
      const bool problem = !slot.event.is_record || slot.error;
      if (!problem) continue;
      const std::string message = slot.event.is_record ? slot.error.message : slot.event.message;
      failure_ =
          message + " (on_error is \"fail\"; with \"skip\" such input is counted and skipped)";
      failure_code_ = LMF_ERR_DATA;
      stop_round_ = true;
      report_.add_error(
          slot.event.is_record ? slot.event.raw.origin : slot.event.origin,
          reason_of(message, slot.event.is_record ? slot.event.raw.origin : slot.event.origin));
      report_.set_failure(failure_);
      return;
    }
  }
  Tally& output = batch.tallies.back();
  for (Batch::Slot& slot : batch.slots) {
    if (!slot.event.is_record) {
      report_.add_error(slot.event.origin, reason_of(slot.event.message, slot.event.origin));
      report_.add_file_problem(slot.event.problem);
      continue;
    }
    if (slot.error) {
      report_.add_error(slot.event.raw.origin,
                        reason_of(slot.error.message, slot.event.raw.origin));
      continue;
    }
    if (slot.dropped) continue;
    Record& record = slot.record;
    if (record.text().empty()) {
      ++output.dropped;
      ++output.reasons[0];
      continue;
    }
    sdk::Record out;
    out.id = record.id;
    if (record.renderer != nullptr) {
      out.fields_json = record.renderer->render_fields(record);
      out.text = record.text();
    } else {
      out.text = std::move(record.parts.front());
    }
    out.origin = std::move(record.origin);
    report_.add_output(out.text.size());
    queue_.push_back(std::move(out));
  }
  for (std::size_t i = 0; i < batch.tallies.size(); ++i)
    report_.add_stage_tally(i, batch.tallies[i]);
  report_.add_input(batch.records, batch.bytes_in);
}

void RecordPipeline::run_round(std::size_t wanted, const std::function<bool()>& cancelled) {
  const std::size_t concurrency = static_cast<std::size_t>(arena_->max_concurrency());
  const std::size_t tokens = 2 * std::max<std::size_t>(1, concurrency);
  // A round ends with the pipeline drained, so rounds must be long enough for the drain
  // not to matter: eight batches per token, or what the caller wants, within kRoundBytes.
  round_target_ = std::max(wanted, options_.batch_records * tokens * 8);
  round_bytes_ = 0;
  round_read_ = 0;
  stop_round_ = false;

  // Batches travel as raw pointers; those in flight when a filter throws are freed here.
  std::mutex live_mutex;
  std::unordered_set<Batch*> live;
  auto release = [&](Batch* batch) {
    std::lock_guard lock(live_mutex);
    live.erase(batch);
    delete batch;
  };

  tbb::filter<void, Batch*> chain = tbb::make_filter<void, Batch*>(
      tbb::filter_mode::serial_in_order, [&](tbb::flow_control& control) -> Batch* {
        Batch* batch = read_batch(cancelled);
        if (batch == nullptr) {
          control.stop();
          return nullptr;
        }
        std::lock_guard lock(live_mutex);
        live.insert(batch);
        return batch;
      });
  for (std::size_t s = 0; s < segments_.size(); ++s) {
    const Segment segment = segments_[s];
    if (segment.serial) {
      chain = chain & tbb::make_filter<Batch*, Batch*>(tbb::filter_mode::serial_in_order,
                                                       [this, segment](Batch* batch) {
                                                         decide(*batch, segment.first);
                                                         return batch;
                                                       });
    } else if (s == 0 || segment.first < segment.last) {
      const bool parse = s == 0;
      chain = chain & tbb::make_filter<Batch*, Batch*>(tbb::filter_mode::parallel,
                                                       [this, segment, parse](Batch* batch) {
                                                         parse_and_clean(*batch, segment, parse);
                                                         return batch;
                                                       });
    }
  }
  tbb::filter<void, void> pipeline =
      chain & tbb::make_filter<Batch*, void>(tbb::filter_mode::serial_in_order, [&](Batch* batch) {
        emit(*batch);
        release(batch);
      });
  try {
    arena_->execute([&] { tbb::parallel_pipeline(tokens, pipeline); });
  } catch (const sdk::Error& e) {
    for (Batch* batch : live) delete batch;
    failure_code_ = e.code();
    failure_ = e.code() == LMF_ERR_CANCELLED
                   ? std::string(
                         "cancelled: the stream was interrupted; seek to the next record "
                         "id to resume")
                   : e.what();
    report_.set_failure(failure_);
    throw;
  } catch (const std::exception& e) {
    for (Batch* batch : live) delete batch;
    failure_code_ = LMF_ERR_INTERNAL;
    failure_ = e.what();
    report_.set_failure(failure_);
    throw;
  }
}

std::vector<sdk::Record> RecordPipeline::next(std::size_t max_records,
                                              const std::function<bool()>& cancelled) {
  max_records = std::max<std::size_t>(1, max_records);
  if (queue_.empty() && !failure_.empty()) sdk::fail(failure_code_, failure_);
  while (queue_.size() < max_records && !at_end_ && failure_.empty())
    run_round(max_records - queue_.size(), cancelled);
  std::vector<sdk::Record> out;
  const std::size_t count = std::min(max_records, queue_.size());
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  if (out.empty() && !failure_.empty()) sdk::fail(failure_code_, failure_);
  report_.set_finished(finished());
  return out;
}

void RecordPipeline::seek(uint64_t record_id, const std::function<bool()>& cancelled) {
  reader_->rewind();
  for (const auto& stage : stages_) stage->reset();
  queue_.clear();
  at_end_ = false;
  failure_.clear();
  failure_code_ = LMF_OK;
  reset_report(record_id);
  if (record_id == 0) return;
  if (!stateful_) {
    reader_->skip_until(record_id);
    return;
  }
  // Note [Seek]: rebuild the deduplication state from the records before `record_id`.
  replaying_ = true;
  limit_id_ = record_id;
  try {
    while (!at_end_ && reader_->next_id() < record_id && failure_.empty())
      run_round(options_.batch_records, cancelled);
  } catch (...) {
    replaying_ = false;
    limit_id_ = std::numeric_limits<uint64_t>::max();
    throw;
  }
  replaying_ = false;
  limit_id_ = std::numeric_limits<uint64_t>::max();
  queue_.clear();
  reset_report(record_id);
}

}  // namespace lmf::data
