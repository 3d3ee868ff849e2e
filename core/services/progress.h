// Progress reports (lmf_host_api::progress_*): any number of concurrent tasks, drawn on
// one terminal line or written as periodic plain lines for logs and CI.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::services {

enum class ProgressMode {
  terminal,  // one line redrawn in place with '\r' and clear-to-end
  plain,     // whole lines, at most every plain_interval_s per task, for logs and CI
};

struct ProgressOptions {
  ProgressMode mode = ProgressMode::plain;
  double redraw_interval_s = 0.1;  // terminal: the least clock time between redraws
  double plain_interval_s = 10.0;  // plain: the least clock time between lines of a task
  // Terminal: lines are cut to max_width - 1 bytes (0: never cut), because a line that
  // wraps can no longer be erased with '\r'. See terminal_columns().
  std::size_t max_width = 0;
  // Seconds on any monotonic scale; empty: std::chrono::steady_clock. Tests inject one.
  std::function<double()> now_seconds;
};

// The state of one task, as drawn.
struct ProgressSnapshot {
  std::uint64_t id = 0;
  std::string label;
  std::string unit;
  std::int64_t count = 0;
  std::int64_t total = -1;  // < 0: unknown
  double elapsed_s = 0.0;
  double rate_per_s = 0.0;   // mean since begin; 0 while no time has passed
  std::uint64_t parent = 0;  // the task this one is a part of, or 0 (Note [Parts of a task])
};

// Whether `stream` is a terminal (isatty); false for NULL or a stream without a descriptor.
bool is_terminal(std::FILE* stream) noexcept;
// The terminal's width in columns, or 0 when `stream` is not a terminal or it is unknown.
std::size_t terminal_columns(std::FILE* stream) noexcept;
// terminal for a terminal whose TERM is not "dumb" (which cannot clear a line), else plain.
ProgressMode default_progress_mode(std::FILE* stream) noexcept;

// 3 significant digits with k/M/G/T suffixes: 5 -> "5.00", 12.5 -> "12.5", 1500 -> "1.50k".
std::string format_si(double value);
// Decimal units (1 kB = 1000 B, as MB/s is): 512 -> "512 B", 1500 -> "1.50 kB",
// 9987188 -> "9.99 MB". Tasks whose unit is "bytes" are drawn this way.
std::string format_bytes(double bytes);
// "m:ss" under an hour, else "h:mm:ss"; "--:--" for negative or non-finite durations.
std::string format_duration(double seconds);

// Note [Parts of a task]
// Some work is best measured by its parts: `data prepare` counts the records it packs,
// while the data source it reads knows the size of its input and how much of it it has
// read. After adopt_new_tasks(task), every task begun until `task` ends is a part of it.
// Parts are not drawn on their own (their final lines still are); a task without a total
// of its own shows, instead of its rate, the fraction done of its first part that has a
// total, the part's rate and an ETA from them:
//   data prepare: 5120 records, 41% of 100 MB, 6.19 MB/s, ETA 0:06
// The part's rate is over the task's elapsed time, which began before the part and so
// includes its start-up: the ETA is elapsed × (1 - f) / f, f the part's count / total.

// Every member may be called from any thread. Nothing renders in the background: output
// happens inside begin/advance/end/write_around, throttled by the injected clock.
class ProgressBoard {
 public:
  using TaskId = std::uint64_t;  // never 0

  // `out` must outlive the board; in production it is std::cerr.
  explicit ProgressBoard(std::ostream& out, ProgressOptions options = {});
  // Ends a visible terminal line with a newline, so its last state stays on screen.
  ~ProgressBoard();
  ProgressBoard(const ProgressBoard&) = delete;
  ProgressBoard& operator=(const ProgressBoard&) = delete;

  // `total` < 0 when unknown; `unit` e.g. "records" (may be empty).
  TaskId begin(std::string_view label, std::int64_t total, std::string_view unit);
  // False (and nothing happens) for an unknown or ended task.
  bool advance(TaskId task, std::int64_t delta);
  // Tasks begun from now until `task` ends are its parts (Note [Parts of a task]). False
  // (and nothing changes) for an unknown or ended task.
  bool adopt_new_tasks(TaskId task);
  // Always prints the task's final line: count, elapsed time, mean rate. Returns the final
  // state, or nullopt for an unknown or already ended task.
  std::optional<ProgressSnapshot> end(TaskId task);

  // The running tasks, in the order they began.
  std::vector<ProgressSnapshot> snapshot() const;

  // Runs `write` (which prints whole lines to this or another stream) with the progress
  // line cleared before and redrawn after, under the board's lock so nothing draws in
  // between. `write` must not call into this board.
  void write_around(const std::function<void()>& write);
  // write_around as a Logger::WriteHook: logger.set_write_hook(board.log_hook()).
  // The board must outlive the hook, or the logger must drop it first.
  std::function<void(const std::function<void()>&)> log_hook();

 private:
  struct Task {
    TaskId id;
    std::string label;
    std::string unit;
    std::int64_t count;
    std::int64_t total;
    double start;
    double last_line;  // plain mode: when this task's last line was written
    TaskId parent;     // 0: drawn on its own
  };

  ProgressSnapshot snapshot_of(const Task& task, double now) const;
  Task* find_locked(TaskId task);
  // The task's line: with a part's fraction and ETA when it has no total of its own.
  std::string describe_locked(const Task& task, double now) const;
  void draw_locked(double now);
  void clear_locked();
  std::string fit(std::string line) const;

  std::ostream& out_;
  ProgressOptions options_;
  mutable std::mutex mutex_;  // guards everything below and writes to out_
  std::vector<Task> tasks_;   // few at a time: a vector beats a map
  TaskId next_id_ = 1;
  TaskId adopter_ = 0;  // the task whose parts new tasks become, or 0
  bool line_visible_ = false;
  double last_draw_ = 0.0;
  bool drawn_once_ = false;
};

}  // namespace lmf::services
