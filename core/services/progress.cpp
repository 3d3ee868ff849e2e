#include "core/services/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace lmf::services {

namespace {

constexpr std::string_view kClearToEnd = "\x1b[K";
constexpr std::string_view kPlainPrefix = "[lmforge] progress ";
// Clock values are doubles; without a little slack, 0.15 - 0.05 < 0.1 would skip a redraw.
constexpr double kClockSlack = 1e-9;

double steady_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// A label with '\r' or '\n' in it would break the line it is drawn on.
std::string printable(std::string_view text) {
  std::string result(text);
  for (char& c : result) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return result;
}

bool counts_bytes(const ProgressSnapshot& s) {
  return s.unit == "bytes";
}

// "1234 records", "1234" or, for bytes, "1.23 kB".
std::string amount_text(const ProgressSnapshot& s, std::int64_t amount) {
  if (counts_bytes(s)) return format_bytes(static_cast<double>(amount));
  std::string text = std::to_string(amount);
  if (!s.unit.empty()) text += " " + s.unit;
  return text;
}

// "12/100 layers", "12 records", "1.20 MB/10.0 MB".
std::string count_text(const ProgressSnapshot& s) {
  if (s.total < 0) return amount_text(s, s.count);
  const std::string count =
      counts_bytes(s) ? format_bytes(static_cast<double>(s.count)) : std::to_string(s.count);
  return count + "/" + amount_text(s, s.total);
}

std::string rate_text(const ProgressSnapshot& s) {
  if (counts_bytes(s)) return format_bytes(s.rate_per_s) + "/s";
  return format_si(s.rate_per_s) + (s.unit.empty() ? "/s" : " " + s.unit + "/s");
}

std::string percent_text(const ProgressSnapshot& s) {
  const double percent =
      s.total > 0 ? std::floor(100.0 * static_cast<double>(s.count) / static_cast<double>(s.total))
                  : 100.0;
  return std::to_string(static_cast<long long>(percent)) + "%";
}

// "ETA 0:10": the time left at the task's rate, which must be > 0.
std::string eta_text(const ProgressSnapshot& s) {
  const double remaining = static_cast<double>(std::max<std::int64_t>(0, s.total - s.count));
  return "ETA " + format_duration(remaining / s.rate_per_s);
}

std::string with_label(const ProgressSnapshot& s, std::string body) {
  return s.label.empty() ? body : s.label + ": " + body;
}

// "data prepare: 1234 records, 25% of 10.0 MB, 250 kB/s, ETA 0:30": the task has no
// total, `part` has one (Note [Parts of a task]); the part's rate is over the task's time.
std::string describe_by_part(const ProgressSnapshot& s, ProgressSnapshot part) {
  std::string text =
      count_text(s) + ", " + percent_text(part) + " of " + amount_text(part, part.total);
  part.rate_per_s = s.elapsed_s > 0 ? static_cast<double>(part.count) / s.elapsed_s : 0.0;
  if (part.rate_per_s > 0) text += ", " + rate_text(part) + ", " + eta_text(part);
  return with_label(s, std::move(text));
}

// "quantize: 50/100 layers (50%), 5.00 layers/s, ETA 0:10"
// "tokenize: 1234 records, 123 records/s, elapsed 0:10"
std::string describe_running(const ProgressSnapshot& s) {
  std::string text = count_text(s);
  if (s.total >= 0) text += " (" + percent_text(s) + ")";
  if (s.rate_per_s > 0) {
    text += ", " + rate_text(s);
    if (s.total >= 0) text += ", " + eta_text(s);
  }
  if (s.total < 0) text += ", elapsed " + format_duration(s.elapsed_s);
  return with_label(s, std::move(text));
}

// "quantize: 100/100 layers in 0:20, 5.00 layers/s"
std::string describe_final(const ProgressSnapshot& s) {
  std::string text = count_text(s) + " in " + format_duration(s.elapsed_s);
  if (s.rate_per_s > 0) text += ", " + rate_text(s);
  return with_label(s, std::move(text));
}

// `value` / 1000^k below 999.5, with 3 significant digits, then suffixes[k].
std::string scaled(double value, const std::array<const char*, 5>& suffixes) {
  std::size_t suffix = 0;
  double scaled_value = value;
  // Promote at 999.5, not 1000, so that rounding never prints "1000" or "1000k".
  while (std::fabs(scaled_value) >= 999.5 && suffix + 1 < suffixes.size()) {
    scaled_value /= 1000.0;
    ++suffix;
  }
  const double magnitude = std::fabs(scaled_value);
  const int decimals = magnitude < 9.995 ? 2 : (magnitude < 99.95 ? 1 : 0);
  std::array<char, 32> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%.*f%s", decimals, scaled_value, suffixes[suffix]);
  return buffer.data();
}

}  // namespace

bool is_terminal(std::FILE* stream) noexcept {
  if (stream == nullptr) return false;
  const int fd = ::fileno(stream);
  return fd >= 0 && ::isatty(fd) == 1;
}

std::size_t terminal_columns(std::FILE* stream) noexcept {
  if (!is_terminal(stream)) return 0;
  winsize size{};
  if (::ioctl(::fileno(stream), TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

ProgressMode default_progress_mode(std::FILE* stream) noexcept {
  const char* term = std::getenv("TERM");
  const bool dumb = term != nullptr && std::strcmp(term, "dumb") == 0;
  return is_terminal(stream) && !dumb ? ProgressMode::terminal : ProgressMode::plain;
}

std::string format_si(double value) {
  if (!std::isfinite(value)) return "?";
  return scaled(value, {"", "k", "M", "G", "T"});
}

std::string format_bytes(double bytes) {
  if (!std::isfinite(bytes)) return "? B";
  if (std::fabs(bytes) < 999.5) return std::to_string(std::llround(bytes)) + " B";
  return scaled(bytes, {" B", " kB", " MB", " GB", " TB"});
}

std::string format_duration(double seconds) {
  // Beyond ~11 years a duration is meaningless here, and llround would overflow later on.
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 3.6e8) return "--:--";
  const long long total = std::llround(seconds);
  const long long hours = total / 3600;
  const long long minutes = (total % 3600) / 60;
  const long long secs = total % 60;
  std::array<char, 48> buffer{};
  if (hours > 0) {
    std::snprintf(buffer.data(), buffer.size(), "%lld:%02lld:%02lld", hours, minutes, secs);
  } else {
    std::snprintf(buffer.data(), buffer.size(), "%lld:%02lld", minutes, secs);
  }
  return buffer.data();
}

ProgressBoard::ProgressBoard(std::ostream& out, ProgressOptions options)
    : out_(out), options_(std::move(options)) {
  if (!options_.now_seconds) options_.now_seconds = steady_seconds;
}

ProgressBoard::~ProgressBoard() {
  std::lock_guard lock(mutex_);
  if (line_visible_) {
    out_ << '\n';
    out_.flush();
  }
}

ProgressBoard::TaskId ProgressBoard::begin(std::string_view label, std::int64_t total,
                                           std::string_view unit) {
  std::lock_guard lock(mutex_);
  const double now = options_.now_seconds();
  const TaskId id = next_id_++;
  tasks_.push_back(
      Task{id, printable(label), printable(unit), 0, total < 0 ? -1 : total, now, now, adopter_});
  if (options_.mode == ProgressMode::terminal &&
      (!drawn_once_ || now - last_draw_ >= options_.redraw_interval_s - kClockSlack)) {
    draw_locked(now);
  }
  return id;
}

bool ProgressBoard::adopt_new_tasks(TaskId task) {
  std::lock_guard lock(mutex_);
  if (find_locked(task) == nullptr) return false;
  adopter_ = task;
  return true;
}

bool ProgressBoard::advance(TaskId task, std::int64_t delta) {
  std::lock_guard lock(mutex_);
  Task* advanced = find_locked(task);
  if (advanced == nullptr) return false;
  advanced->count += delta;
  const double now = options_.now_seconds();
  // A part's progress shows in its parent's line.
  Task& shown = advanced->parent != 0 ? *find_locked(advanced->parent) : *advanced;
  if (options_.mode == ProgressMode::terminal) {
    if (!drawn_once_ || now - last_draw_ >= options_.redraw_interval_s - kClockSlack) {
      draw_locked(now);
    }
  } else if (now - shown.last_line >= options_.plain_interval_s - kClockSlack) {
    shown.last_line = now;
    out_ << kPlainPrefix << describe_locked(shown, now) << '\n';
    out_.flush();
  }
  return true;
}

std::optional<ProgressSnapshot> ProgressBoard::end(TaskId task) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const Task& t) { return t.id == task; });
  if (it == tasks_.end()) return std::nullopt;
  const double now = options_.now_seconds();
  ProgressSnapshot final_state = snapshot_of(*it, now);
  tasks_.erase(it);
  if (adopter_ == task) adopter_ = 0;
  for (Task& part : tasks_)
    if (part.parent == task) part.parent = 0;  // outlived their parent: drawn on their own
  if (options_.mode == ProgressMode::terminal) {
    // The final line replaces the live one and stays; the others go on below it.
    out_ << '\r' << describe_final(final_state) << kClearToEnd << '\n';
    line_visible_ = false;
    if (!tasks_.empty()) draw_locked(now);
  } else {
    out_ << kPlainPrefix << describe_final(final_state) << '\n';
  }
  out_.flush();
  return final_state;
}

std::vector<ProgressSnapshot> ProgressBoard::snapshot() const {
  std::lock_guard lock(mutex_);
  const double now = options_.now_seconds();
  std::vector<ProgressSnapshot> result;
  result.reserve(tasks_.size());
  for (const Task& task : tasks_) result.push_back(snapshot_of(task, now));
  return result;
}

void ProgressBoard::write_around(const std::function<void()>& write) {
  std::lock_guard lock(mutex_);
  const bool redraw = line_visible_;
  if (redraw) clear_locked();
  write();
  if (redraw && !tasks_.empty()) draw_locked(options_.now_seconds());
}

std::function<void(const std::function<void()>&)> ProgressBoard::log_hook() {
  return [this](const std::function<void()>& write) { write_around(write); };
}

ProgressSnapshot ProgressBoard::snapshot_of(const Task& task, double now) const {
  ProgressSnapshot s;
  s.id = task.id;
  s.label = task.label;
  s.unit = task.unit;
  s.count = task.count;
  s.total = task.total;
  s.elapsed_s = std::max(0.0, now - task.start);
  // The mean since begin rather than a moving average: steadier ETAs for the batchy work
  // (layers, shards) this reports, and exact to test.
  s.rate_per_s = s.elapsed_s > 0 ? static_cast<double>(task.count) / s.elapsed_s : 0.0;
  s.parent = task.parent;
  return s;
}

ProgressBoard::Task* ProgressBoard::find_locked(TaskId task) {
  auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const Task& t) { return t.id == task; });
  return it == tasks_.end() ? nullptr : &*it;
}

std::string ProgressBoard::describe_locked(const Task& task, double now) const {
  if (task.total < 0)
    for (const Task& part : tasks_)
      if (part.parent == task.id && part.total > 0)
        return describe_by_part(snapshot_of(task, now), snapshot_of(part, now));
  return describe_running(snapshot_of(task, now));
}

void ProgressBoard::draw_locked(double now) {
  last_draw_ = now;
  drawn_once_ = true;
  if (tasks_.empty()) {
    clear_locked();
    return;
  }
  std::string line;
  for (const Task& task : tasks_) {
    if (task.parent != 0) continue;
    if (!line.empty()) line += " | ";
    line += describe_locked(task, now);
  }
  out_ << '\r' << fit(std::move(line)) << kClearToEnd;
  out_.flush();
  line_visible_ = true;
}

void ProgressBoard::clear_locked() {
  if (!line_visible_) return;
  out_ << '\r' << kClearToEnd;
  out_.flush();
  line_visible_ = false;
}

std::string ProgressBoard::fit(std::string line) const {
  if (options_.max_width == 0 || line.size() < options_.max_width) return line;
  // The last column stays empty: writing there leaves some terminals about to wrap.
  std::size_t cut = options_.max_width - 1;
  // Never split a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
  line.resize(cut);
  return line;
}

}  // namespace lmf::services
