#include "corpus_source.h"

#include "io/input_files.h"
#include "readers/reader_factory.h"
#include "report_table.h"
#include "stages/stage_factory.h"

#include <lmf/sdk/host.h>

#include <filesystem>
#include <fstream>

namespace lmf::data {

namespace fs = std::filesystem;

namespace {

bool host_cancelled() {
  return sdk::cancelled();
}

}  // namespace

CorpusSource::CorpusSource(SourceKind kind, const sdk::Json& config)
    : config_(parse_source_config(kind, config)),
      report_(kind_name(kind), config_.max_errors_listed) {
  std::vector<std::unique_ptr<Stage>> stages = make_stages(config_.stages);
  ExpandedInputs inputs = expand_inputs(config_.inputs, config_.extensions);
  if (!inputs.problems.empty() && config_.on_error == OnError::fail)
    sdk::fail(LMF_ERR_NOT_FOUND,
              std::string(kind_name(kind)) + " source: " + inputs.problems.front().message +
                  " (on_error is \"fail\"; with \"skip\" it is counted and skipped)");
  for (const InputFile& file : inputs.files) total_bytes_ += file.size;
  file_count_ = inputs.files.size();
  report_.set_files(inputs.files.size(), inputs.duplicates);
  PipelineOptions options;
  options.threads = config_.threads;
  options.on_error = config_.on_error;
  options.batch_records = config_.batch_records;
  std::unique_ptr<Reader> reader = make_reader(std::move(inputs.files), config_);
  pipeline_ = std::make_unique<RecordPipeline>(std::move(reader), std::move(stages), options,
                                               report_, std::move(inputs.problems));
}

CorpusSource::~CorpusSource() = default;

void CorpusSource::track_progress(std::size_t records) {
  if (!bytes_progress_) {
    const std::string label = std::string(kind_name(config_.kind)) + " source";
    bytes_progress_ =
        std::make_unique<sdk::Progress>(label + ": " + std::to_string(file_count_) + " files",
                                        static_cast<int64_t>(total_bytes_), "bytes");
    records_progress_ = std::make_unique<sdk::Progress>(label + ": records out", -1, "records");
  }
  const uint64_t bytes = pipeline_->bytes_consumed();
  if (bytes > bytes_reported_)
    bytes_progress_->advance(static_cast<int64_t>(bytes - bytes_reported_));
  bytes_reported_ = bytes;
  if (records > 0) records_progress_->advance(static_cast<int64_t>(records));
}

void CorpusSource::end_progress() {
  bytes_progress_.reset();
  records_progress_.reset();
}

std::vector<sdk::Record> CorpusSource::next_batch(size_t max_records) {
  sdk::throw_if_cancelled();
  std::vector<sdk::Record> batch;
  try {
    batch = pipeline_->next(max_records, host_cancelled);
  } catch (...) {
    end_progress();
    throw;
  }
  track_progress(batch.size());
  if (batch.empty()) {
    end_progress();
    if (!summarized_) {
      summarized_ = true;
      const sdk::Json summary = report_.to_json();
      sdk::log_info(std::string(kind_name(config_.kind)) + " source: " +
                    std::to_string(summary["records_in"].get<uint64_t>()) + " records in, " +
                    std::to_string(summary["records_out"].get<uint64_t>()) + " out, " +
                    std::to_string(summary["records_dropped"].get<uint64_t>()) + " dropped");
      if (!summary["errors"].empty())
        sdk::log_warning(
            std::string(kind_name(config_.kind)) +
            " source: " + std::to_string(summary["errors_total"].get<uint64_t>()) +
            " input problems, the first: " + summary["errors"][0]["origin"].get<std::string>() +
            ": " + summary["errors"][0]["reason"].get<std::string>());
    }
  }
  return batch;
}

void CorpusSource::seek(uint64_t record_id) {
  end_progress();
  summarized_ = false;
  pipeline_->seek(record_id, host_cancelled);
  bytes_reported_ = 0;
}

sdk::Json CorpusSource::report() {
  return report_.to_json();
}

sdk::Json CorpusSource::run_stage(const sdk::Json& stage) {
  const sdk::Json params =
      stage.is_object() ? stage.value("params", sdk::Json::object()) : sdk::Json();
  if (!params.is_object() || !params.contains("output") || !params["output"].is_string() ||
      params["output"].get<std::string>().empty())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              "params.output: the stage needs the path of the jsonl file to write, e.g. "
              "{\"output\": \"runs/clean.jsonl\"}");
  const fs::path output = params["output"].get<std::string>();
  std::error_code error;
  if (output.has_parent_path()) fs::create_directories(output.parent_path(), error);
  const fs::path temporary = output.string() + ".partial";
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  if (!out) sdk::fail(LMF_ERR_IO, "cannot write " + temporary.string());
  uint64_t written = 0;
  try {
    for (;;) {
      const std::vector<sdk::Record> batch = next_batch(1024);
      if (batch.empty()) break;
      for (const sdk::Record& record : batch) {
        sdk::Json line =
            record.fields_json.empty() ? sdk::Json::object() : sdk::Json::parse(record.fields_json);
        line["text"] = record.text;
        line["record_id"] = record.id;
        line["origin"] = record.origin;
        out << line.dump() << '\n';
        ++written;
      }
      if (!out) sdk::fail(LMF_ERR_IO, "cannot write " + temporary.string());
    }
  } catch (...) {
    out.close();
    fs::remove(temporary, error);  // no half output under either name
    throw;
  }
  out.close();
  if (!out) sdk::fail(LMF_ERR_IO, "cannot write " + temporary.string());
  fs::rename(temporary, output, error);
  if (error)
    sdk::fail(LMF_ERR_IO, "cannot rename " + temporary.string() + " to " + output.string() + ": " +
                              error.message());
  const sdk::Json summary = report_.to_json();
  const std::string table = render_report_table(summary);
  sdk::log_info(table);
  return {{"output", output.string()},
          {"records_written", written},
          {"report", summary},
          {"table", table}};
}

}  // namespace lmf::data
