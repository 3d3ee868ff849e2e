// TensorBoard event files: scalars that `tensorboard --logdir` shows.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace lmf::services {

// Every member may be called from any thread.
class TensorboardWriter {
 public:
  struct Options {
    std::string filename_suffix;  // appended to the file name, e.g. ".train"
    std::string hostname;         // empty: the machine's name
    std::function<double()> now;  // unix seconds; empty: the system clock
  };

  // Creates `folder` if missing and a file named as TensorBoard's own writers name theirs,
  //   events.out.tfevents.<unix seconds>.<hostname><suffix>
  // then writes the version event (Note [TensorBoard without protobuf]). An existing file of
  // that name (a second writer in the same second) is appended to, never overwritten: a
  // record stream may hold several version events. Throws std::runtime_error naming the
  // path and the system's reason when the folder or file cannot be made.
  explicit TensorboardWriter(const std::filesystem::path& folder, Options options = {});
  ~TensorboardWriter();
  TensorboardWriter(const TensorboardWriter&) = delete;
  TensorboardWriter& operator=(const TensorboardWriter&) = delete;

  // One scalar event, flushed before returning, so a crash loses nothing written. `tag` is
  // the metric's name ("train/loss": TensorBoard groups by the part before '/'). Does not
  // throw on a failed write: see error().
  void add_scalar(std::string_view tag, double value, std::int64_t step, double wall_time);

  const std::filesystem::path& path() const { return path_; }

  // The first write failure ("" when none).
  std::string error() const;

 private:
  struct FileCloser {
    void operator()(std::FILE* file) const noexcept;
  };

  void write_record(const std::string& event);  // with mutex_ held

  std::filesystem::path path_;
  mutable std::mutex mutex_;  // guards file_ and error_
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::string error_;
};

// What every event file's name starts with; TensorBoard reads the files whose names hold
// "tfevents".
inline constexpr std::string_view kTensorboardFilePrefix = "events.out.tfevents.";

// "events.out.tfevents.<seconds>.<hostname><suffix>" for a time in unix seconds.
std::string tensorboard_file_name(double unix_seconds, std::string_view hostname,
                                  std::string_view suffix);

}  // namespace lmf::services
