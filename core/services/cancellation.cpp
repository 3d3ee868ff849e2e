#include "core/services/cancellation.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace lmf::services {

namespace {

// Namespace-scope atomics with constant initialization: the signal handler may run before
// or during anything else, and only lock-free atomics are safe to touch there.
std::atomic<bool> g_requested{false};
std::atomic<int> g_signal_count{0};
static_assert(std::atomic<bool>::is_always_lock_free);
static_assert(std::atomic<int>::is_always_lock_free);

constexpr char kStopMessage[] =
    "\nlmforge: stopping after the current step (Ctrl-C again to abort)\n";

// Only sigaction-installed state, never the Cancellation object's mutex-guarded members.
struct sigaction g_previous_int;
struct sigaction g_previous_term;

void handle_stop_signal(int signal_number) {
  const int saved_errno = errno;  // write() may change it under the interrupted code
  if (g_signal_count.fetch_add(1, std::memory_order_relaxed) == 0) {
    g_requested.store(true, std::memory_order_release);
    if (::write(STDERR_FILENO, kStopMessage, sizeof(kStopMessage) - 1) < 0) {
      // Nothing safe to do about a closed stderr here.
    }
  } else {
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal_number, &default_action, nullptr);
    // Blocked while this handler runs; delivered with the default action once it returns.
    raise(signal_number);
  }
  errno = saved_errno;
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::runtime_error(std::string(what) + ": " +
                           std::error_code(errno, std::generic_category()).message());
}

}  // namespace

Cancellation::Registration::Registration(Registration&& other) noexcept
    : id_(std::exchange(other.id_, 0)) {}

Cancellation::Registration& Cancellation::Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Cancellation::Registration::~Registration() {
  reset();
}

void Cancellation::Registration::reset() {
  if (id_ != 0) Cancellation::process().unregister(std::exchange(id_, 0));
}

Cancellation& Cancellation::process() {
  static Cancellation instance;
  return instance;
}

void Cancellation::request() {
  g_requested.store(true, std::memory_order_release);
  fire_callbacks();
}

bool Cancellation::requested() const noexcept {
  return g_requested.load(std::memory_order_acquire);
}

void Cancellation::reset() {
  std::lock_guard lock(mutex_);
  g_requested.store(false, std::memory_order_release);
  g_signal_count.store(0, std::memory_order_relaxed);
  fired_ = false;
}

void Cancellation::install_signal_handlers() {
  std::lock_guard lock(mutex_);
  if (handlers_installed_) return;
  struct sigaction action {};
  action.sa_handler = handle_stop_signal;
  sigemptyset(&action.sa_mask);
  // Restart interrupted system calls: the work is meant to finish its current step, not
  // to see EINTR from a read it did not expect to fail.
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &action, &g_previous_int) != 0) {
    throw_errno("cannot install the SIGINT handler");
  }
  if (sigaction(SIGTERM, &action, &g_previous_term) != 0) {
    const int saved = errno;
    sigaction(SIGINT, &g_previous_int, nullptr);
    errno = saved;
    throw_errno("cannot install the SIGTERM handler");
  }
  handlers_installed_ = true;
}

void Cancellation::restore_signal_handlers() {
  std::lock_guard lock(mutex_);
  if (!handlers_installed_) return;
  sigaction(SIGTERM, &g_previous_term, nullptr);
  sigaction(SIGINT, &g_previous_int, nullptr);
  handlers_installed_ = false;
}

Cancellation::Registration Cancellation::on_cancel(std::function<void()> callback) {
  std::uint64_t id = 0;
  bool run_now = false;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    callbacks_.emplace(id, callback);
    run_now = fired_;
  }
  Registration registration(id);
  // Late registrants still hear about a cancellation that already happened, as with
  // std::stop_callback; if the callback throws, the registration is undone.
  if (run_now) callback();
  return registration;
}

bool Cancellation::poll() {
  if (!requested()) return false;
  fire_callbacks();
  return true;
}

void Cancellation::fire_callbacks() {
  std::vector<std::uint64_t> ids;
  {
    std::unique_lock lock(mutex_);
    if (fired_ || !g_requested.load(std::memory_order_acquire)) return;
    // Another thread may still be firing for a previous request (before a reset).
    idle_.wait(lock, [&] { return firing_thread_ == std::thread::id(); });
    if (fired_) return;
    fired_ = true;
    firing_thread_ = std::this_thread::get_id();
    for (const auto& entry : callbacks_) ids.push_back(entry.first);
  }
  std::exception_ptr first_error;
  for (std::uint64_t id : ids) {
    std::function<void()> callback;
    {
      // Looked up again so that a callback unregistered by an earlier one does not run.
      std::lock_guard lock(mutex_);
      auto it = callbacks_.find(id);
      if (it == callbacks_.end()) continue;
      callback = it->second;
    }
    try {
      callback();
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  {
    std::lock_guard lock(mutex_);
    firing_thread_ = std::thread::id();
  }
  idle_.notify_all();
  if (first_error) std::rethrow_exception(first_error);
}

void Cancellation::unregister(std::uint64_t id) {
  std::unique_lock lock(mutex_);
  callbacks_.erase(id);
  // Wait out a callback that may be running on another thread, so the caller can destroy
  // what it captured. From inside a callback, waiting would deadlock, so don't.
  idle_.wait(lock, [&] {
    return firing_thread_ == std::thread::id() || firing_thread_ == std::this_thread::get_id();
  });
}

}  // namespace lmf::services
