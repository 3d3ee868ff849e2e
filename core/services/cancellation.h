// The process-wide stop request (lmf_host_api::is_cancelled): Ctrl-C, SIGTERM or a
// frontend's stop button all end up here.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace lmf::services {

// Note [Cancellation callbacks]
// The signal handler only sets a lock-free flag and writes a fixed message; callbacks run
// on a normal thread: synchronously in request(), or in poll() after a signal. poll()
// rather than a watcher thread because the pipeline runner already checks the flag between
// steps, so poll() there costs nothing and runs callbacks on a known thread; a watcher
// would need a self-pipe, a thread living for the whole process, and care around fork and
// shutdown. Callbacks run once per request; reset() re-arms them.
class Cancellation {
 public:
  // Unregisters its callback when destroyed or reset. Once reset() returns, the callback is
  // not running on another thread (unless reset from inside a callback).
  class [[nodiscard]] Registration {
   public:
    Registration() = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    ~Registration();
    void reset();

   private:
    friend class Cancellation;
    explicit Registration(std::uint64_t id) : id_(id) {}
    std::uint64_t id_ = 0;  // 0: nothing registered
  };

  // The one instance: signals are process-wide, so is the flag.
  static Cancellation& process();

  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;

  // Sets the flag and runs the callbacks (once per request) on the calling thread. If a
  // callback throws, the others still run and the first exception is rethrown.
  void request();
  // Lock-free; cheap enough to call per record.
  bool requested() const noexcept;
  // Clears the flag and the signal count (the next Ctrl-C asks to stop again) and re-arms
  // the callbacks. For hosts that run several pipelines, and for tests.
  void reset();

  // SIGINT and SIGTERM: the first sets the flag and writes
  // "lmforge: stopping after the current step (Ctrl-C again to abort)" to stderr; the
  // second restores the default action and re-raises, so the process dies as usual.
  // Installing twice is a no-op. Throws std::runtime_error if sigaction fails.
  void install_signal_handlers();
  // Puts back the handlers that install_signal_handlers found; a no-op when not installed.
  void restore_signal_handlers();

  // `callback` runs on cancellation, on the thread of request() or poll() — never in a
  // signal handler. If cancellation has already fired, it also runs now, before this
  // returns. It must not wait on a thread that is resetting a Registration.
  Registration on_cancel(std::function<void()> callback);
  // Runs the callbacks if a signal set the flag since they last ran; returns requested().
  bool poll();

 private:
  Cancellation() = default;
  void fire_callbacks();
  void unregister(std::uint64_t id);

  std::mutex mutex_;              // guards everything below
  std::condition_variable idle_;  // signalled when firing_thread_ clears
  std::map<std::uint64_t, std::function<void()>> callbacks_;  // ordered: run in registration order
  std::uint64_t next_id_ = 1;
  bool fired_ = false;
  std::thread::id firing_thread_;  // default: nobody is running callbacks
  bool handlers_installed_ = false;
};

}  // namespace lmf::services
