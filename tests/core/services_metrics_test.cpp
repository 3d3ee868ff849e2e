#include "core/services/metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmf::services {
namespace {

namespace fs = std::filesystem;

class ServicesMetrics : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("lmf_metrics_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::vector<std::string> read_lines(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  static MetricsSink::Clock fixed_clock(double time) {
    return [time] { return time; };
  }

  fs::path dir_;
};

TEST_F(ServicesMetrics, WritesJsonLinesFlushedAsRecorded) {
  const fs::path path = dir_ / "metrics.jsonl";
  MetricsSink sink(path, MetricsSink::OpenMode::truncate, fixed_clock(1700000000.5));
  ASSERT_EQ(sink.path(), path);
  sink.record("trainer", "train/loss", 1.23, 10);
  sink.record("host", "tokens_per_s", 4500.0, 11);

  // Read while the sink is still open: each line must already be on disk.
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(
      lines[0],
      R"({"time":1700000000.5,"source":"trainer","name":"train/loss","value":1.23,"step":10})");
  const auto second = nlohmann::json::parse(lines[1]);
  EXPECT_DOUBLE_EQ(second.at("time").get<double>(), 1700000000.5);
  EXPECT_EQ(second.at("source"), "host");
  EXPECT_EQ(second.at("name"), "tokens_per_s");
  EXPECT_DOUBLE_EQ(second.at("value").get<double>(), 4500.0);
  EXPECT_EQ(second.at("step").get<std::int64_t>(), 11);
  EXPECT_FALSE(second.contains("nonfinite"));
  EXPECT_EQ(sink.error(), "");
}

TEST_F(ServicesMetrics, NonFiniteValuesAreNullWithAMarker) {
  const fs::path path = dir_ / "metrics.jsonl";
  MetricsSink sink(path, MetricsSink::OpenMode::truncate, fixed_clock(1.0));
  sink.record("trainer", "a", std::numeric_limits<double>::quiet_NaN(), 1);
  sink.record("trainer", "b", std::numeric_limits<double>::infinity(), 2);
  sink.record("trainer", "c", -std::numeric_limits<double>::infinity(), 3);

  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  const char* expected[] = {"nan", "inf", "-inf"};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto entry = nlohmann::json::parse(lines[i]);  // would throw on a bare NaN
    EXPECT_TRUE(entry.at("value").is_null()) << lines[i];
    EXPECT_EQ(entry.at("nonfinite"), expected[i]) << lines[i];
    EXPECT_EQ(entry.at("step").get<int>(), static_cast<int>(i) + 1);
  }
  EXPECT_TRUE(std::isnan(sink.latest().at("a").value));
  EXPECT_EQ(sink.latest().at("c").value, -std::numeric_limits<double>::infinity());
}

TEST_F(ServicesMetrics, LatestKeepsTheLastPointPerName) {
  double now = 100.0;
  MetricsSink sink([&] { return now; });  // no file
  EXPECT_FALSE(sink.path().has_value());
  sink.record("trainer", "train/loss", 2.0, 1);
  now = 101.0;
  sink.record("trainer", "train/lr", 1e-4, 1);
  now = 102.0;
  sink.record("evaluator", "train/loss", 1.5, 2);

  const auto latest = sink.latest();
  ASSERT_EQ(latest.size(), 2u);
  const MetricPoint& loss = latest.at("train/loss");
  EXPECT_EQ(loss.source, "evaluator");
  EXPECT_DOUBLE_EQ(loss.value, 1.5);
  EXPECT_EQ(loss.step, 2);
  EXPECT_DOUBLE_EQ(loss.time, 102.0);
  EXPECT_DOUBLE_EQ(latest.at("train/lr").value, 1e-4);
  EXPECT_EQ(latest.at("train/lr").step, 1);
}

TEST_F(ServicesMetrics, OpenErrorNamesThePathAndTheReason) {
  const fs::path path = dir_ / "missing_dir" / "metrics.jsonl";
  try {
    MetricsSink sink(path);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
}

TEST_F(ServicesMetrics, AppendKeepsEarlierLinesTruncateDoesNot) {
  const fs::path path = dir_ / "metrics.jsonl";
  {
    MetricsSink sink(path, MetricsSink::OpenMode::truncate, fixed_clock(1.0));
    sink.record("trainer", "loss", 3.0, 1);
  }
  {
    MetricsSink sink(path, MetricsSink::OpenMode::append, fixed_clock(2.0));
    sink.record("trainer", "loss", 2.0, 2);
  }
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0]).at("step"), 1);
  EXPECT_EQ(nlohmann::json::parse(lines[1]).at("step"), 2);
  {
    MetricsSink sink(path, MetricsSink::OpenMode::truncate, fixed_clock(3.0));
    sink.record("trainer", "loss", 1.0, 3);
  }
  lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(lines[0]).at("step"), 3);
}

TEST_F(ServicesMetrics, InvalidUtf8IsReplacedNotThrown) {
  const fs::path path = dir_ / "metrics.jsonl";
  MetricsSink sink(path, MetricsSink::OpenMode::truncate, fixed_clock(1.0));
  EXPECT_NO_THROW(sink.record("bad\xff", "name\xc3", 1.0, 1));
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1u);
  nlohmann::json entry;
  EXPECT_NO_THROW(entry = nlohmann::json::parse(lines[0]));
  EXPECT_DOUBLE_EQ(entry.value("value", 0.0), 1.0);
}

TEST_F(ServicesMetrics, ConcurrentRecordsAreWholeLines) {
  const fs::path path = dir_ / "metrics.jsonl";
  MetricsSink sink(path);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        sink.record("t" + std::to_string(t), "metric/" + std::to_string(t), i * 0.5, i);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::vector<int> per_thread(kThreads, 0);
  for (const auto& line : lines) {
    const auto entry = nlohmann::json::parse(line);
    const int t = std::stoi(entry.at("source").get<std::string>().substr(1));
    ASSERT_LT(t, kThreads);
    // Each thread's steps arrive in its own order.
    EXPECT_EQ(entry.at("step").get<int>(), per_thread[t]++);
  }
  const auto latest = sink.latest();
  ASSERT_EQ(latest.size(), static_cast<std::size_t>(kThreads));
  for (const auto& [name, point] : latest) EXPECT_EQ(point.step, kPerThread - 1) << name;
}

}  // namespace
}  // namespace lmf::services
