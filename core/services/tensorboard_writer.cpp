#include "core/services/tensorboard_writer.h"

#include "core/services/tensorboard_event.h"
#include "core/services/tensorboard_record.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace lmf::services {
namespace {

double system_unix_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string machine_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

std::string tensorboard_file_name(double unix_seconds, std::string_view hostname,
                                  std::string_view suffix) {
  std::string name(kTensorboardFilePrefix);
  name += std::to_string(static_cast<std::int64_t>(std::floor(unix_seconds)));
  name += '.';
  name += hostname;
  name += suffix;
  return name;
}

void TensorboardWriter::FileCloser::operator()(std::FILE* file) const noexcept {
  std::fclose(file);
}

TensorboardWriter::TensorboardWriter(const std::filesystem::path& folder, Options options) {
  const double now = options.now ? options.now() : system_unix_seconds();
  const std::string host = options.hostname.empty() ? machine_name() : options.hostname;
  path_ = folder / tensorboard_file_name(now, host, options.filename_suffix);

  std::error_code created;
  std::filesystem::create_directories(folder, created);
  if (created) {
    throw std::runtime_error("cannot create TensorBoard folder '" + folder.string() +
                             "': " + created.message());
  }
  errno = 0;
  file_.reset(std::fopen(path_.c_str(), "ab"));
  if (!file_) {
    throw std::runtime_error("cannot open TensorBoard event file '" + path_.string() +
                             "': " + std::error_code(errno, std::generic_category()).message());
  }
  std::lock_guard lock(mutex_);
  write_record(tensorboard::encode_file_version_event(now));
  if (!error_.empty()) throw std::runtime_error(error_);
}

TensorboardWriter::~TensorboardWriter() = default;

void TensorboardWriter::add_scalar(std::string_view tag, double value, std::int64_t step,
                                   double wall_time) {
  const std::string event = tensorboard::encode_scalar_event(wall_time, step, tag, value);
  std::lock_guard lock(mutex_);
  write_record(event);
}

void TensorboardWriter::write_record(const std::string& event) {
  const std::string record = tensorboard::frame_record(event);
  errno = 0;
  const bool written = std::fwrite(record.data(), 1, record.size(), file_.get()) == record.size();
  const bool flushed = written && std::fflush(file_.get()) == 0;
  if (!flushed && error_.empty()) {
    error_ = "cannot write TensorBoard event file '" + path_.string() +
             "': " + std::error_code(errno, std::generic_category()).message();
  }
}

std::string TensorboardWriter::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

}  // namespace lmf::services
