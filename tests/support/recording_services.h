// A HostServices for tests: records what plugins log and report, and lets a test set the
// configuration and the cancellation flag.
#pragma once

#include "core/plugin/host_services.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace lmf::testing {

class RecordingServices : public plugin::HostServices {
 public:
  struct LogLine {
    lmf_log_level level;
    std::string source, message;
  };
  struct Metric {
    std::string source, name;
    double value;
    int64_t step;
  };
  struct Task {
    std::string label;
    int64_t total = 0, done = 0;
    bool ended = false;
  };

  void log(lmf_log_level level, std::string_view source, std::string_view message) override {
    std::lock_guard lock(mutex);
    logs.push_back({level, std::string(source), std::string(message)});
  }
  void metric(std::string_view source, std::string_view name, double value, int64_t step) override {
    std::lock_guard lock(mutex);
    metrics.push_back({std::string(source), std::string(name), value, step});
  }
  uint64_t progress_begin(std::string_view, std::string_view label, int64_t total,
                          std::string_view) override {
    std::lock_guard lock(mutex);
    tasks.push_back({std::string(label), total, 0, false});
    return tasks.size() - 1;
  }
  void progress_advance(uint64_t task, int64_t delta) override {
    std::lock_guard lock(mutex);
    tasks.at(task).done += delta;
  }
  void progress_end(uint64_t task) override {
    std::lock_guard lock(mutex);
    tasks.at(task).ended = true;
  }
  bool cancelled() override { return cancel_flag.load(); }
  std::optional<std::string> config_value(std::string_view json_pointer) override {
    std::lock_guard lock(mutex);
    nlohmann::json::json_pointer pointer{std::string(json_pointer)};
    if (!config.contains(pointer)) return std::nullopt;
    return config.at(pointer).dump();
  }

  // Whether any log line contains `text`.
  bool logged(std::string_view text) const {
    std::lock_guard lock(mutex);
    for (const LogLine& line : logs)
      if (line.message.find(text) != std::string::npos) return true;
    return false;
  }

  mutable std::mutex mutex;
  std::vector<LogLine> logs;
  std::vector<Metric> metrics;
  std::vector<Task> tasks;
  nlohmann::json config = nlohmann::json::object();
  std::atomic<bool> cancel_flag{false};
};

}  // namespace lmf::testing
