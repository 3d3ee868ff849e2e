#include "core/services/log.h"

#include <array>
#include <stdexcept>
#include <string>
#include <utility>

namespace lmf::services {

namespace {

constexpr std::array<std::pair<std::string_view, LogLevel>, 4> kLevels = {{
    {"debug", LogLevel::debug},
    {"info", LogLevel::info},
    {"warning", LogLevel::warning},
    {"error", LogLevel::error},
}};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

}  // namespace

std::string_view log_level_name(LogLevel level) noexcept {
  for (const auto& [name, value] : kLevels) {
    if (value == level) return name;
  }
  return "unknown";
}

LogLevel parse_log_level(std::string_view text) {
  for (const auto& [name, value] : kLevels) {
    if (equals_ignoring_case(text, name)) return value;
  }
  throw std::invalid_argument("unknown log level '" + std::string(text) +
                              "' (expected one of: debug, info, warning, error)");
}

Logger::Logger(std::ostream& out, LogLevel min_level) : out_(out), min_level_(min_level) {}

void Logger::log(LogLevel level, std::string_view source, std::string_view message) {
  if (!enabled(level)) return;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  if (source.empty()) source = "host";

  // Built before taking the lock, and written with one insertion, so the critical section
  // is short and a line is never split between two writers.
  std::string line;
  line.reserve(16 + source.size() + message.size());
  line += "[lmforge] ";
  line += log_level_name(level);
  line += ' ';
  line += source;
  line += ": ";
  line += message;
  line += '\n';

  std::lock_guard lock(mutex_);
  auto write = [&] {
    out_ << line;
    out_.flush();
  };
  if (hook_) {
    hook_(write);
  } else {
    write();
  }
}

bool Logger::enabled(LogLevel level) const noexcept {
  return level >= min_level_.load(std::memory_order_relaxed);
}

void Logger::set_min_level(LogLevel level) noexcept {
  min_level_.store(level, std::memory_order_relaxed);
}

LogLevel Logger::min_level() const noexcept {
  return min_level_.load(std::memory_order_relaxed);
}

void Logger::set_write_hook(WriteHook hook) {
  std::lock_guard lock(mutex_);
  hook_ = std::move(hook);
}

}  // namespace lmf::services
