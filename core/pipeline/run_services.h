// The host services of a run: what plugins reach through lmf_host_api, wired to the
// logger, the progress board, the metrics files, the training alarms, the cancellation flag
// and the composed configuration.
#pragma once

#include "core/plugin/host_services.h"
#include "core/services/cancellation.h"
#include "core/services/log.h"
#include "core/services/metrics.h"
#include "core/services/progress.h"
#include "core/services/training_alarms.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>

namespace lmf::pipeline {

class RunServices : public plugin::HostServices {
 public:
  RunServices(services::Logger& logger, services::ProgressBoard& progress,
              services::Cancellation& cancellation);

  // The configuration plugins read through config_get (a copy; empty object until set).
  void set_config(nlohmann::json config);
  // Starts writing metrics to a JSON Lines file, and to TensorBoard event files in the
  // folder `tensorboard/` beside it (MetricsSink::add_tensorboard); before that, only the
  // latest values are kept.
  void open_metrics(const std::filesystem::path& file);
  services::MetricsSink& metrics() { return *metrics_; }
  // Every metric() also goes through these: the seed's table until set_alarm_table (e.g.
  // from a configuration's alarms, services::alarm_table_with_overrides).
  void set_alarm_table(services::AlarmTable table) { alarms_.set_table(std::move(table)); }
  // Each stage's metrics start afresh for the alarms (Note [Learning rate warm-up]).
  void reset_alarm_states() { alarms_.reset_states(); }
  services::TrainingAlarms& alarms() { return alarms_; }
  services::Logger& logger() { return logger_; }
  services::ProgressBoard& progress() { return progress_; }

  void log(lmf_log_level level, std::string_view source, std::string_view message) override;
  void metric(std::string_view source, std::string_view name, double value, int64_t step) override;
  uint64_t progress_begin(std::string_view source, std::string_view label, int64_t total,
                          std::string_view unit) override;
  void progress_advance(uint64_t task, int64_t delta) override;
  void progress_end(uint64_t task) override;
  bool cancelled() override;
  // Between steps on the runner's thread: also runs the cancellation callbacks that a
  // signal deferred (Note [Cancellation callbacks]).
  bool poll_cancellation() { return cancellation_.poll(); }
  std::optional<std::string> config_value(std::string_view json_pointer) override;

 private:
  services::Logger& logger_;
  services::ProgressBoard& progress_;
  services::Cancellation& cancellation_;
  std::unique_ptr<services::MetricsSink> metrics_;
  services::TrainingAlarms alarms_;
  std::mutex config_mutex_;
  nlohmann::json config_ = nlohmann::json::object();
};

}  // namespace lmf::pipeline
