// The three data source components (jsonl, text, csv): one class over the reader of each
// kind, the cleaning stages and the record pipeline (docs/data.md).
#pragma once

#include "pipeline/record_pipeline.h"
#include "pipeline/report.h"
#include "source_config.h"

#include <lmf/sdk/data_source.h>

#include <memory>

namespace lmf::data {

class CorpusSource : public sdk::DataSource {
 public:
  CorpusSource(SourceKind kind, const sdk::Json& config);
  ~CorpusSource() override;

  std::vector<sdk::Record> next_batch(size_t max_records) override;
  void seek(uint64_t record_id) override;
  sdk::Json report() override;
  // Reads everything and writes the cleaned records to params.output (jsonl); returns
  // {"output", "records_written", "report", "table"}.
  sdk::Json run_stage(const sdk::Json& stage) override;

 private:
  void track_progress(std::size_t records);
  void end_progress();

  SourceConfig config_;
  Report report_;
  std::unique_ptr<RecordPipeline> pipeline_;
  uint64_t total_bytes_ = 0;
  std::size_t file_count_ = 0;
  std::unique_ptr<sdk::Progress> bytes_progress_, records_progress_;
  uint64_t bytes_reported_ = 0;
  bool summarized_ = false;
};

struct JsonlSource final : CorpusSource {
  explicit JsonlSource(const sdk::Json& config) : CorpusSource(SourceKind::jsonl, config) {}
};
struct TextSource final : CorpusSource {
  explicit TextSource(const sdk::Json& config) : CorpusSource(SourceKind::text, config) {}
};
struct CsvSource final : CorpusSource {
  explicit CsvSource(const sdk::Json& config) : CorpusSource(SourceKind::csv, config) {}
};

}  // namespace lmf::data
