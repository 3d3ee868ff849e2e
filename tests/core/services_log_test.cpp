#include "core/services/log.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lmf::services {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

TEST(ServicesLog, WritesOneFormattedLine) {
  std::ostringstream out;
  Logger logger(out);
  logger.log(LogLevel::warning, "gptq", "calibration set has 12 samples");
  EXPECT_EQ(out.str(), "[lmforge] warning gptq: calibration set has 12 samples\n");
}

TEST(ServicesLog, EmptySourceIsHostAndTrailingNewlinesAreDropped) {
  std::ostringstream out;
  Logger logger(out);
  logger.log(LogLevel::error, "", "disk full\n\n");
  EXPECT_EQ(out.str(), "[lmforge] error host: disk full\n");
}

TEST(ServicesLog, FiltersBelowMinimumLevel) {
  std::ostringstream out;
  Logger logger(out);
  EXPECT_EQ(logger.min_level(), LogLevel::info);
  EXPECT_FALSE(logger.enabled(LogLevel::debug));
  logger.log(LogLevel::debug, "host", "hidden");
  logger.log(LogLevel::info, "host", "shown");
  EXPECT_EQ(out.str(), "[lmforge] info host: shown\n");

  logger.set_min_level(LogLevel::debug);
  logger.log(LogLevel::debug, "host", "now shown");
  logger.set_min_level(LogLevel::error);
  logger.log(LogLevel::warning, "host", "hidden again");
  logger.log(LogLevel::error, "host", "always");
  EXPECT_EQ(out.str(),
            "[lmforge] info host: shown\n"
            "[lmforge] debug host: now shown\n"
            "[lmforge] error host: always\n");
}

TEST(ServicesLog, ParsesLevelNames) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::debug);
  EXPECT_EQ(parse_log_level("info"), LogLevel::info);
  EXPECT_EQ(parse_log_level("Warning"), LogLevel::warning);
  EXPECT_EQ(parse_log_level("ERROR"), LogLevel::error);
  for (LogLevel level : {LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error}) {
    EXPECT_EQ(parse_log_level(log_level_name(level)), level);
  }
}

TEST(ServicesLog, RejectsUnknownLevelNamingValidOnes) {
  try {
    parse_log_level("verbose");
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'verbose'"), std::string::npos) << message;
    EXPECT_NE(message.find("debug, info, warning, error"), std::string::npos) << message;
  }
  EXPECT_THROW(parse_log_level(""), std::invalid_argument);
}

TEST(ServicesLog, ConcurrentLinesNeverInterleave) {
  std::ostringstream out;
  Logger logger(out);
  constexpr int kThreads = 8;
  constexpr int kLinesPerThread = 500;
  const std::string padding(200, 'x');  // long lines make a torn write likely if unguarded
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLinesPerThread; ++i) {
        logger.log(LogLevel::info, "t" + std::to_string(t),
                   "line " + std::to_string(i) + " " + padding);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  std::vector<std::set<int>> seen(kThreads);
  const auto lines = split_lines(out.str());
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kLinesPerThread));
  for (const auto& line : lines) {
    // "[lmforge] info t<thread>: line <index> <padding>", parsed field by field.
    const std::string prefix = "[lmforge] info t";
    ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
    std::istringstream fields(line.substr(prefix.size()));
    int thread = -1;
    int index = -1;
    char colon = 0;
    std::string word;
    std::string tail;
    fields >> thread >> colon >> word >> index >> tail;
    ASSERT_TRUE(fields.eof() && colon == ':' && word == "line") << line;
    ASSERT_TRUE(thread >= 0 && thread < kThreads) << line;
    EXPECT_EQ(tail, padding) << line;
    EXPECT_TRUE(seen[thread].insert(index).second) << line;
  }
  for (const auto& indices : seen)
    EXPECT_EQ(indices.size(), static_cast<std::size_t>(kLinesPerThread));
}

TEST(ServicesLog, WriteHookWrapsEveryLine) {
  std::ostringstream out;
  Logger logger(out);
  logger.set_write_hook([&](const std::function<void()>& write) {
    out << "<before>";
    write();
    out << "<after>";
  });
  logger.log(LogLevel::info, "host", "one");
  logger.log(LogLevel::debug, "host", "filtered, so no hook call");
  EXPECT_EQ(out.str(), "<before>[lmforge] info host: one\n<after>");

  logger.set_write_hook({});
  logger.log(LogLevel::info, "host", "two");
  EXPECT_EQ(out.str(), "<before>[lmforge] info host: one\n<after>[lmforge] info host: two\n");
}

}  // namespace
}  // namespace lmf::services
