#include "core/services/metrics.h"

#include <cerrno>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

namespace lmf::services {

namespace {

double system_unix_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string errno_message(int error_number) {
  // std::strerror is not thread-safe; the error category's message is.
  return std::error_code(error_number, std::generic_category()).message();
}

}  // namespace

void MetricsSink::FileCloser::operator()(std::FILE* file) const noexcept {
  std::fclose(file);
}

MetricsSink::MetricsSink(Clock now_unix_seconds) : now_(std::move(now_unix_seconds)) {
  if (!now_) now_ = system_unix_seconds;
}

MetricsSink::MetricsSink(const std::filesystem::path& path, OpenMode mode, Clock now_unix_seconds)
    : MetricsSink(std::move(now_unix_seconds)) {
  mode_ = mode;
  errno = 0;
  file_.reset(std::fopen(path.c_str(), mode == OpenMode::append ? "a" : "w"));
  if (!file_) {
    throw std::runtime_error("cannot open metrics file '" + path.string() +
                             "': " + errno_message(errno));
  }
  path_ = path;
}

MetricsSink::~MetricsSink() = default;

void MetricsSink::record(std::string_view source, std::string_view name, double value,
                         std::int64_t step) {
  const double time = now_();
  std::string line;
  if (path_) {
    // ordered_json keeps the documented key order, which makes the file easy to read.
    nlohmann::ordered_json entry;
    entry["time"] = time;
    entry["source"] = source;
    entry["name"] = name;
    if (std::isfinite(value)) {
      entry["value"] = value;
    } else {
      entry["value"] = nullptr;
      entry["nonfinite"] = std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
    }
    entry["step"] = step;
    // Plugin strings may be invalid UTF-8; replacing beats throwing out of a metric call.
    line = entry.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    line += '\n';
  }

  std::lock_guard lock(mutex_);
  latest_[std::string(name)] = MetricPoint{std::string(source), value, step, time};
  if (tensorboard_) tensorboard_->add_scalar(name, value, step, time);
  if (!file_) return;
  errno = 0;
  const bool written = std::fwrite(line.data(), 1, line.size(), file_.get()) == line.size();
  const bool flushed = written && std::fflush(file_.get()) == 0;
  if (!flushed && error_.empty()) {
    error_ = "cannot write metrics file '" + path_->string() + "': " + errno_message(errno);
  }
}

void MetricsSink::add_tensorboard(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  if (mode_ == OpenMode::truncate && fs::is_directory(folder)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
      if (!entry.path().filename().string().starts_with(kTensorboardFilePrefix)) continue;
      std::error_code removed;
      fs::remove(entry.path(), removed);
      if (removed) {
        throw std::runtime_error("cannot delete the earlier TensorBoard event file '" +
                                 entry.path().string() + "': " + removed.message());
      }
    }
  }
  auto writer =
      std::make_unique<TensorboardWriter>(folder, TensorboardWriter::Options{"", "", now_});
  std::lock_guard lock(mutex_);
  tensorboard_ = std::move(writer);
}

std::map<std::string, MetricPoint> MetricsSink::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

std::optional<std::filesystem::path> MetricsSink::path() const {
  return path_;
}

std::optional<std::filesystem::path> MetricsSink::tensorboard_path() const {
  std::lock_guard lock(mutex_);
  if (!tensorboard_) return std::nullopt;
  return tensorboard_->path();
}

std::string MetricsSink::error() const {
  std::lock_guard lock(mutex_);
  std::string tensorboard_error = tensorboard_ ? tensorboard_->error() : "";
  if (error_.empty() || tensorboard_error.empty()) return error_ + tensorboard_error;
  return error_ + "; " + tensorboard_error;
}

}  // namespace lmf::services
