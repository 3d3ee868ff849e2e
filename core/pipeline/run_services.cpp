#include "core/pipeline/run_services.h"

#include <algorithm>

namespace lmf::pipeline {

RunServices::RunServices(services::Logger& logger, services::ProgressBoard& progress,
                         services::Cancellation& cancellation)
    : logger_(logger),
      progress_(progress),
      cancellation_(cancellation),
      metrics_(std::make_unique<services::MetricsSink>()),
      alarms_(services::seed_alarm_table(), &logger) {}

void RunServices::set_config(nlohmann::json config) {
  std::lock_guard lock(config_mutex_);
  config_ = std::move(config);
}

void RunServices::open_metrics(const std::filesystem::path& file) {
  auto sink = std::make_unique<services::MetricsSink>(file);
  sink->add_tensorboard(file.parent_path() / "tensorboard");
  metrics_ = std::move(sink);
}

void RunServices::log(lmf_log_level level, std::string_view source, std::string_view message) {
  // LogLevel mirrors LMF_LOG_* (core/services/log.h); clamp what a plugin may send.
  auto clamped = std::clamp<lmf_log_level>(level, LMF_LOG_DEBUG, LMF_LOG_ERROR);
  logger_.log(static_cast<services::LogLevel>(clamped), source, message);
}

void RunServices::metric(std::string_view source, std::string_view name, double value,
                         int64_t step) {
  metrics_->record(source, name, value, step);
  alarms_.observe(name, value, step);
}

uint64_t RunServices::progress_begin(std::string_view source, std::string_view label, int64_t total,
                                     std::string_view unit) {
  std::string shown = label.empty() ? std::string(source) : std::string(label);
  return progress_.begin(shown, total, unit);
}

void RunServices::progress_advance(uint64_t task, int64_t delta) {
  progress_.advance(task, delta);
}

void RunServices::progress_end(uint64_t task) {
  progress_.end(task);
}

bool RunServices::cancelled() {
  return cancellation_.requested();
}

std::optional<std::string> RunServices::config_value(std::string_view json_pointer) {
  std::lock_guard lock(config_mutex_);
  try {
    nlohmann::json::json_pointer pointer{std::string(json_pointer)};
    if (!config_.contains(pointer)) return std::nullopt;
    return config_.at(pointer).dump();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a malformed pointer names nothing
  }
}

}  // namespace lmf::pipeline
