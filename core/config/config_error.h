#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace lmf::config {

// An error in a configuration that the user must fix. what() leads with where to look:
//   configs/base.json: /stages/1/config/bits: expected integer, got string "four"
//   configs/base.json:3:14: syntax error while parsing object ...
// For a command-line override, file() names the assignment ("--set a.b=1"), because
// that is what the user has to change.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string pointer, std::string message)
      : std::runtime_error(format(file, 0, 0, pointer, message)),
        file_(std::move(file)),
        pointer_(std::move(pointer)),
        message_(std::move(message)) {}

  // A JSON syntax error: line and column are 1-based.
  ConfigError(std::string file, int line, int column, std::string message)
      : std::runtime_error(format(file, line, column, "", message)),
        file_(std::move(file)),
        message_(std::move(message)),
        line_(line),
        column_(column) {}

  const std::string& file() const noexcept { return file_; }
  // RFC 6901 pointer into the document; empty when the error is about the whole file.
  const std::string& pointer() const noexcept { return pointer_; }
  const std::string& message() const noexcept { return message_; }
  // 0 unless this is a syntax error.
  int line() const noexcept { return line_; }
  int column() const noexcept { return column_; }

 private:
  static std::string format(const std::string& file, int line, int column,
                            const std::string& pointer, const std::string& message) {
    std::string text = file;
    if (line > 0) text += ":" + std::to_string(line) + ":" + std::to_string(column);
    for (const std::string* part : {&pointer, &message}) {
      if (part->empty()) continue;
      if (!text.empty()) text += ": ";
      text += *part;
    }
    return text;
  }

  std::string file_;
  std::string pointer_;
  std::string message_;
  int line_ = 0;
  int column_ = 0;
};

}  // namespace lmf::config
