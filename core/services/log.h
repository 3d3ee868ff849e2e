// Host logging: the sink behind lmf_host_api::log and the host's own messages.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <ostream>
#include <string_view>

namespace lmf::services {

// Same order and values as LMF_LOG_DEBUG..LMF_LOG_ERROR, so the ABI glue can cast.
enum class LogLevel { debug, info, warning, error };

// "debug", "info", "warning" or "error".
std::string_view log_level_name(LogLevel level) noexcept;

// Accepts the four names above, case-insensitively (e.g. from --log-level or a config).
// Throws std::invalid_argument naming the bad value and the valid ones.
LogLevel parse_log_level(std::string_view text);

// Writes whole lines "[lmforge] <level> <source>: <message>" to one stream.
// Every member may be called from any thread.
class Logger {
 public:
  // Runs `write` (which emits one complete line) with the terminal prepared for it: a
  // progress renderer clears its line first and redraws it afterwards (see
  // ProgressBoard::write_around). One wrapping call rather than before/after hooks, so
  // nothing can draw between the clear and the log line.
  using WriteHook = std::function<void(const std::function<void()>& write)>;

  // `out` must outlive the logger; in production it is std::cerr.
  explicit Logger(std::ostream& out, LogLevel min_level = LogLevel::info);
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Drops messages below the minimum level. An empty source is written as "host".
  // Trailing newlines of `message` are dropped: the logger ends every line itself.
  void log(LogLevel level, std::string_view source, std::string_view message);

  // Lets callers skip building an expensive message that would be dropped.
  bool enabled(LogLevel level) const noexcept;
  void set_min_level(LogLevel level) noexcept;
  LogLevel min_level() const noexcept;

  // An empty hook writes directly. The hook is called with the logger's lock held, so it
  // must not log through this logger; whatever it captures must outlive the logger or be
  // detached with set_write_hook({}) first.
  void set_write_hook(WriteHook hook);

 private:
  std::ostream& out_;
  std::atomic<LogLevel> min_level_;
  std::mutex mutex_;  // guards out_ and hook_: one line at a time
  WriteHook hook_;
};

}  // namespace lmf::services
