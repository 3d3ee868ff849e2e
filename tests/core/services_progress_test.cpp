#include "core/services/progress.h"

#include "core/services/log.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace lmf::services {
namespace {

constexpr std::string_view kClear = "\x1b[K";

std::size_t count_of(const std::string& text, std::string_view needle) {
  std::size_t count = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++count;
  }
  return count;
}

// What a terminal shows last: the text after the final '\r', without the clear sequence.
std::string last_drawn(const std::string& text) {
  std::string line = text.substr(text.rfind('\r') + 1);
  if (line.size() >= kClear.size() &&
      line.compare(line.size() - kClear.size(), kClear.size(), kClear) == 0) {
    line.resize(line.size() - kClear.size());
  }
  return line;
}

class ServicesProgress : public ::testing::Test {
 protected:
  ProgressOptions options(ProgressMode mode) {
    ProgressOptions result;
    result.mode = mode;
    result.now_seconds = [this] { return now; };
    return result;
  }

  double now = 0.0;
  std::ostringstream out;
};

TEST(ServicesProgressFormat, SiSuffixes) {
  EXPECT_EQ(format_si(0), "0.00");
  EXPECT_EQ(format_si(5), "5.00");
  EXPECT_EQ(format_si(12.5), "12.5");
  EXPECT_EQ(format_si(123.4), "123");
  EXPECT_EQ(format_si(999.4), "999");
  EXPECT_EQ(format_si(999.6), "1.00k");
  EXPECT_EQ(format_si(1500), "1.50k");
  EXPECT_EQ(format_si(45'600), "45.6k");
  EXPECT_EQ(format_si(2'500'000), "2.50M");
  EXPECT_EQ(format_si(3.2e9), "3.20G");
  EXPECT_EQ(format_si(std::numeric_limits<double>::infinity()), "?");
}

TEST(ServicesProgressFormat, Durations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(10), "0:10");
  EXPECT_EQ(format_duration(59.6), "1:00");
  EXPECT_EQ(format_duration(754), "12:34");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3 * 3600 + 2 * 60 + 5), "3:02:05");
  EXPECT_EQ(format_duration(-1), "--:--");
  EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "--:--");
}

TEST_F(ServicesProgress, TerminalShowsCountPercentRateAndEta) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto task = board.begin("quantize", 100, "layers");
  EXPECT_EQ(out.str(), "\rquantize: 0/100 layers (0%)\x1b[K");

  now = 10.0;
  ASSERT_TRUE(board.advance(task, 50));
  EXPECT_EQ(last_drawn(out.str()), "quantize: 50/100 layers (50%), 5.00 layers/s, ETA 0:10");

  const auto snapshot = board.snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].id, task);
  EXPECT_EQ(snapshot[0].count, 50);
  EXPECT_EQ(snapshot[0].total, 100);
  EXPECT_DOUBLE_EQ(snapshot[0].elapsed_s, 10.0);
  EXPECT_DOUBLE_EQ(snapshot[0].rate_per_s, 5.0);
}

TEST_F(ServicesProgress, TerminalRedrawsAtMostEveryTenthOfASecond) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto task = board.begin("tokenize", 10'000, "records");
  ASSERT_EQ(count_of(out.str(), "\r"), 1u);

  for (int i = 0; i < 1000; ++i) {
    now = i * 0.0000999;  // all within the first 0.1 s
    board.advance(task, 1);
  }
  EXPECT_EQ(count_of(out.str(), "\r"), 1u) << "throttled advances must not redraw";

  now = 0.1;
  board.advance(task, 1);
  EXPECT_EQ(count_of(out.str(), "\r"), 2u);
  EXPECT_EQ(last_drawn(out.str()).rfind("tokenize: 1001/10000 records (10%)", 0), 0u)
      << last_drawn(out.str());

  now = 0.15;
  board.advance(task, 1);
  EXPECT_EQ(count_of(out.str(), "\r"), 2u);
  now = 0.2;
  board.advance(task, 1);
  EXPECT_EQ(count_of(out.str(), "\r"), 3u);
  EXPECT_EQ(board.snapshot().at(0).count, 1003);
}

TEST_F(ServicesProgress, UnknownTotalShowsCountRateAndElapsed) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto task = board.begin("tokenize", -1, "records");
  now = 10.0;
  board.advance(task, 1234);
  EXPECT_EQ(last_drawn(out.str()), "tokenize: 1234 records, 123 records/s, elapsed 0:10");
  EXPECT_EQ(board.snapshot().at(0).total, -1);

  now = 20.0;
  board.advance(task, 48'766);
  EXPECT_EQ(last_drawn(out.str()), "tokenize: 50000 records, 2.50k records/s, elapsed 0:20");
}

TEST_F(ServicesProgress, EndPrintsFinalStateEvenWhenThrottled) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto task = board.begin("pack", 4, "shards");
  now = 0.01;
  board.advance(task, 4);  // throttled: the screen still says 0/4
  EXPECT_EQ(last_drawn(out.str()), "pack: 0/4 shards (0%)");
  now = 2.0;
  const auto final_state = board.end(task);
  ASSERT_TRUE(final_state.has_value());
  EXPECT_EQ(final_state->count, 4);
  EXPECT_DOUBLE_EQ(final_state->rate_per_s, 2.0);
  const std::string text = out.str();
  EXPECT_EQ(text.substr(text.rfind('\r')), "\rpack: 4/4 shards in 0:02, 2.00 shards/s\x1b[K\n");
  EXPECT_TRUE(board.snapshot().empty());
  EXPECT_FALSE(board.end(task).has_value()) << "a second end is refused";
  EXPECT_FALSE(board.advance(task, 1));
}

TEST_F(ServicesProgress, PlainModeWritesLinesAtTheInterval) {
  ProgressBoard board(out, options(ProgressMode::plain));
  const auto task = board.begin("quantize", 100, "layers");
  EXPECT_EQ(out.str(), "");
  for (int second = 1; second <= 25; ++second) {
    now = second;
    board.advance(task, 4);
  }
  now = 25.0;
  board.end(task);
  EXPECT_EQ(out.str(),
            "[lmforge] progress quantize: 40/100 layers (40%), 4.00 layers/s, ETA 0:15\n"
            "[lmforge] progress quantize: 80/100 layers (80%), 4.00 layers/s, ETA 0:05\n"
            "[lmforge] progress quantize: 100/100 layers in 0:25, 4.00 layers/s\n");
  EXPECT_EQ(count_of(out.str(), "\r"), 0u);
}

TEST_F(ServicesProgress, PlainIntervalIsConfigurable) {
  auto opts = options(ProgressMode::plain);
  opts.plain_interval_s = 2.0;
  ProgressBoard board(out, opts);
  const auto task = board.begin("", 10, "");
  for (int second = 1; second <= 5; ++second) {
    now = second;
    board.advance(task, 1);
  }
  EXPECT_EQ(out.str(),
            "[lmforge] progress 2/10 (20%), 1.00/s, ETA 0:08\n"
            "[lmforge] progress 4/10 (40%), 1.00/s, ETA 0:06\n");
}

TEST_F(ServicesProgress, ConcurrentTasksShareTheLine) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto a = board.begin("download", 10, "files");
  now = 1.0;
  const auto b = board.begin("tokenize", -1, "records");
  now = 2.0;
  board.advance(a, 4);
  EXPECT_EQ(
      last_drawn(out.str()),
      "download: 4/10 files (40%), 2.00 files/s, ETA 0:03 | tokenize: 0 records, elapsed 0:01");

  now = 3.0;
  board.end(a);
  const std::string text = out.str();
  const auto final_pos = text.find("\rdownload: 4/10 files in 0:03, 1.33 files/s\x1b[K\n");
  ASSERT_NE(final_pos, std::string::npos) << text;
  EXPECT_EQ(last_drawn(text), "tokenize: 0 records, elapsed 0:02") << "the rest is redrawn";
  const auto snapshot = board.snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(snapshot[0].id, b);
}

TEST_F(ServicesProgress, WriteAroundClearsAndRedrawsTheLine) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto task = board.begin("train", 10, "steps");
  now = 1.0;
  board.advance(task, 1);
  out.str("");

  Logger logger(out);
  logger.set_write_hook(board.log_hook());
  logger.log(LogLevel::warning, "trainer", "loss spiked");
  EXPECT_EQ(out.str(),
            "\r\x1b[K"
            "[lmforge] warning trainer: loss spiked\n"
            "\rtrain: 1/10 steps (10%), 1.00 steps/s, ETA 0:09\x1b[K");

  board.end(task);
  out.str("");
  logger.log(LogLevel::info, "host", "no line to clear");
  EXPECT_EQ(out.str(), "[lmforge] info host: no line to clear\n");
  logger.set_write_hook({});
}

TEST_F(ServicesProgress, PlainWriteAroundJustWrites) {
  ProgressBoard board(out, options(ProgressMode::plain));
  board.begin("train", 10, "steps");
  board.write_around([&] { out << "log line\n"; });
  EXPECT_EQ(out.str(), "log line\n");
}

TEST_F(ServicesProgress, LongLinesAreCutToTheTerminalWidth) {
  auto opts = options(ProgressMode::terminal);
  opts.max_width = 20;
  ProgressBoard board(out, opts);
  board.begin("a rather long la\xc3\xa9\xc3\xa9xyz", 100, "items");
  const std::string line = last_drawn(out.str());
  // 19 bytes would end inside the second UTF-8 'é'.
  EXPECT_EQ(line, "a rather long la\xc3\xa9");
  EXPECT_LT(line.size(), opts.max_width);
}

TEST_F(ServicesProgress, ControlCharactersInLabelsAreBlanked) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  board.begin("bad\rlabel\n", 1, "it\tems");
  EXPECT_EQ(last_drawn(out.str()), "bad label : 0/1 it ems (0%)");
}

TEST_F(ServicesProgress, DestructorKeepsTheLastLineVisible) {
  {
    ProgressBoard board(out, options(ProgressMode::terminal));
    board.begin("cancelled", 10, "steps");
  }
  EXPECT_EQ(out.str(), "\rcancelled: 0/10 steps (0%)\x1b[K\n");
}

TEST_F(ServicesProgress, ConcurrentAdvancesAreAllCounted) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto task = board.begin("parallel", -1, "items");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) board.advance(task, 1);
    });
  }
  for (auto& thread : threads) thread.join();
  const auto final_state = board.end(task);
  ASSERT_TRUE(final_state.has_value());
  EXPECT_EQ(final_state->count, 8000);
}

// Progress in bytes, and tasks measured by their parts (Note [Parts of a task]).

TEST(ServicesProgressFormat, BytesInDecimalUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(999.4), "999 B");
  EXPECT_EQ(format_bytes(999.6), "1.00 kB");
  EXPECT_EQ(format_bytes(1500), "1.50 kB");
  EXPECT_EQ(format_bytes(9'987'188), "9.99 MB");
  EXPECT_EQ(format_bytes(100'000'000), "100 MB");
  EXPECT_EQ(format_bytes(2.5e9), "2.50 GB");
}

TEST_F(ServicesProgress, ABytesTaskIsDrawnInDecimalUnits) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto task = board.begin("jsonl source: 1 files", 10'000'000, "bytes");
  now = 10.0;
  board.advance(task, 2'500'000);
  // 250 kB/s; 7.5 MB left at that rate: 30 s.
  EXPECT_EQ(last_drawn(out.str()),
            "jsonl source: 1 files: 2.50 MB/10.0 MB (25%), 250 kB/s, ETA 0:30");
  now = 20.0;
  board.advance(task, 7'500'000);
  board.end(task);
  EXPECT_NE(out.str().find("\rjsonl source: 1 files: 10.0 MB/10.0 MB in 0:20, 500 kB/s\x1b[K\n"),
            std::string::npos)
      << out.str();
}

TEST_F(ServicesProgress, ATaskWithoutTotalShowsTheFractionAndEtaOfItsPart) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto prepare = board.begin("data prepare", -1, "records");
  ASSERT_TRUE(board.adopt_new_tasks(prepare));
  now = 1.0;
  const auto bytes = board.begin("jsonl source: 1 files", 100'000'000, "bytes");
  const auto records_out = board.begin("jsonl source: records out", -1, "records");

  now = 5.0;
  board.advance(bytes, 25'000'000);
  board.advance(records_out, 5000);
  now = 10.0;  // redraws are throttled: one advance a step
  board.advance(prepare, 5000);
  // A quarter of 100 MB read in the task's 10 s: 2.5 MB/s, 30 s to go. The parts have no
  // place of their own.
  EXPECT_EQ(last_drawn(out.str()),
            "data prepare: 5000 records, 25% of 100 MB, 2.50 MB/s, ETA 0:30");

  const auto snapshot = board.snapshot();
  ASSERT_EQ(snapshot.size(), 3u);
  EXPECT_EQ(snapshot[0].parent, 0u);
  EXPECT_EQ(snapshot[1].parent, prepare);
  EXPECT_EQ(snapshot[2].parent, prepare);

  now = 15.0;
  board.advance(bytes, 75'000'000);
  now = 20.0;
  board.advance(prepare, 5000);
  EXPECT_EQ(last_drawn(out.str()),
            "data prepare: 10000 records, 100% of 100 MB, 5.00 MB/s, ETA 0:00");
}

TEST_F(ServicesProgress, PartsWriteNoPlainLinesOfTheirOwn) {
  ProgressBoard board(out, options(ProgressMode::plain));
  const auto prepare = board.begin("data prepare", -1, "records");
  board.adopt_new_tasks(prepare);
  const auto bytes = board.begin("source", 1000, "bytes");
  now = 5.0;
  board.advance(bytes, 100);
  EXPECT_EQ(out.str(), "") << "within the parent's interval";
  now = 10.0;
  board.advance(bytes, 400);  // a part's advance writes its parent's line
  EXPECT_EQ(out.str(),
            "[lmforge] progress data prepare: 0 records, 50% of 1.00 kB, 50 B/s, ETA 0:10\n");
  now = 12.0;
  board.advance(prepare, 24);
  EXPECT_EQ(out.str(),
            "[lmforge] progress data prepare: 0 records, 50% of 1.00 kB, 50 B/s, ETA 0:10\n")
      << "the interval counts from the parent's last line";
  board.end(bytes);  // a part's final line is kept
  EXPECT_EQ(out.str(),
            "[lmforge] progress data prepare: 0 records, 50% of 1.00 kB, 50 B/s, ETA 0:10\n"
            "[lmforge] progress source: 500 B/1.00 kB in 0:12, 42 B/s\n");
}

TEST_F(ServicesProgress, ATaskWithATotalKeepsItsOwnEta) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto train = board.begin("train", 100, "steps");
  board.adopt_new_tasks(train);
  const auto part = board.begin("shard", 10, "files");
  now = 5.0;
  board.advance(part, 9);
  now = 10.0;
  board.advance(train, 50);
  EXPECT_EQ(last_drawn(out.str()), "train: 50/100 steps (50%), 5.00 steps/s, ETA 0:10");
}

TEST_F(ServicesProgress, WithoutAPartThatHasATotalTheElapsedTimeIsShown) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  const auto prepare = board.begin("data prepare", -1, "records");
  board.adopt_new_tasks(prepare);
  board.begin("records out", -1, "records");
  now = 10.0;
  board.advance(prepare, 100);
  EXPECT_EQ(last_drawn(out.str()), "data prepare: 100 records, 10.0 records/s, elapsed 0:10");
}

TEST_F(ServicesProgress, AdoptionEndsWithTheParent) {
  ProgressBoard board(out, options(ProgressMode::terminal));
  EXPECT_FALSE(board.adopt_new_tasks(42)) << "no such task";
  const auto prepare = board.begin("data prepare", -1, "records");
  board.adopt_new_tasks(prepare);
  const auto part = board.begin("records out", -1, "records");
  now = 1.0;
  board.end(prepare);
  EXPECT_FALSE(board.adopt_new_tasks(prepare)) << "an ended task adopts nothing";

  const auto later = board.begin("pack", 2, "shards");
  now = 2.0;
  board.advance(part, 3);
  const auto snapshot = board.snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].parent, 0u) << "a part that outlives its parent stands alone";
  EXPECT_EQ(snapshot[1].id, later);
  EXPECT_EQ(snapshot[1].parent, 0u);
  EXPECT_EQ(last_drawn(out.str()),
            "records out: 3 records, 1.50 records/s, elapsed 0:02 | pack: 0/2 shards (0%)");
}

TEST(ServicesProgressTerminal, FilesAndNullAreNotTerminals) {
  EXPECT_FALSE(is_terminal(nullptr));
  std::FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_FALSE(is_terminal(file));
  EXPECT_EQ(terminal_columns(file), 0u);
  EXPECT_EQ(default_progress_mode(file), ProgressMode::plain);
  std::fclose(file);
}

}  // namespace
}  // namespace lmf::services
