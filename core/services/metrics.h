// Scalar metrics (lmf_host_api::metric): a JSON Lines file, TensorBoard event files, and the
// latest value per name.
#pragma once

#include "core/services/tensorboard_writer.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace lmf::services {

// The most recent record of one metric name, kept for run summaries.
struct MetricPoint {
  std::string source;  // plugin name or "host"
  double value = 0.0;  // may be NaN or infinite, as recorded
  std::int64_t step = 0;
  double time = 0.0;  // unix seconds
};

// Every member may be called from any thread.
class MetricsSink {
 public:
  enum class OpenMode { truncate, append };
  using Clock = std::function<double()>;  // unix seconds; empty: the system clock

  // Keeps latest() only; no file.
  explicit MetricsSink(Clock now_unix_seconds = {});
  // Also writes one JSON object per record, e.g.
  //   {"time":1700000000.5,"source":"trainer","name":"train/loss","value":1.23,"step":10}
  // Append mode is for resumed runs. Throws std::runtime_error naming the path and the
  // system's reason when the file cannot be opened.
  explicit MetricsSink(const std::filesystem::path& path, OpenMode mode = OpenMode::truncate,
                       Clock now_unix_seconds = {});
  ~MetricsSink();
  MetricsSink(const MetricsSink&) = delete;
  MetricsSink& operator=(const MetricsSink&) = delete;

  // Non-finite values are written as "value":null with "nonfinite":"nan", "inf" or "-inf"
  // (JSON has no NaN). Each line is flushed, so a crash loses no recorded point.
  // Does not throw on a failed write: see error().
  void record(std::string_view source, std::string_view name, double value, std::int64_t step);

  // Latest point per metric name.
  std::map<std::string, MetricPoint> latest() const;

  // Also writes every later record to a TensorBoard event file in `folder`, created if
  // missing (TensorboardWriter): tag = name, with the record's step and time. A truncating
  // sink first deletes the folder's earlier event files, as it truncates its JSON Lines file,
  // so TensorBoard shows this run alone; an appending one keeps them and starts a new file
  // beside them (a resumed run). Throws std::runtime_error naming the path and the reason
  // when a file cannot be deleted or created.
  void add_tensorboard(const std::filesystem::path& folder);

  // The file written to, if any.
  std::optional<std::filesystem::path> path() const;
  // The TensorBoard event file written to, if any.
  std::optional<std::filesystem::path> tensorboard_path() const;

  // The first write failure of each output ("" when none), joined with "; ". A full disk
  // must not kill a training run over its metrics, so record() keeps going and the host
  // reports this at the end of the run.
  std::string error() const;

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const noexcept;
  };

  Clock now_;
  OpenMode mode_ = OpenMode::truncate;
  std::optional<std::filesystem::path> path_;
  mutable std::mutex mutex_;  // guards everything below
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::unique_ptr<TensorboardWriter> tensorboard_;
  std::map<std::string, MetricPoint> latest_;
  std::string error_;
};

}  // namespace lmf::services
