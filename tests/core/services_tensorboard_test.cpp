// TensorBoard event files, read back by a reader written here from the formats' specs: a
// bitwise CRC-32C, TFRecord framing, and protobuf wire format. That TensorBoard itself opens
// them is checked by tests/fixtures/metrics/check_tensorboard.py on the committed fixture
// that TensorboardFixture writes.
#include "core/pipeline/run_services.h"
#include "core/services/metrics.h"
#include "core/services/tensorboard_record.h"
#include "core/services/tensorboard_writer.h"
#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace lmf::services {
namespace {

namespace fs = std::filesystem;
using lmf::testing::Contains;
using lmf::testing::TempDir;

// ---- An independent reader ----------------------------------------------------------------

// CRC-32C one bit at a time: reflected polynomial 0x82F63B78, initial and final ~0.
std::uint32_t reference_crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// TensorFlow's lib/hash/crc32c.h: rotate right by 15, add 0xa282ead8.
std::uint32_t reference_mask(std::uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::uint64_t little_endian(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;)
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

// Splits a TFRecord stream, checking both CRCs of every record.
std::vector<std::string> read_records(const std::string& file_bytes) {
  std::vector<std::string> records;
  std::size_t at = 0;
  while (at < file_bytes.size()) {
    EXPECT_LE(at + 12, file_bytes.size()) << "truncated header at byte " << at;
    if (at + 12 > file_bytes.size()) break;
    const std::string_view header(file_bytes.data() + at, 8);
    const std::uint64_t length = little_endian(header);
    EXPECT_EQ(little_endian({file_bytes.data() + at + 8, 4}),
              reference_mask(reference_crc32c(header)))
        << "length CRC of the record at byte " << at;
    EXPECT_LE(at + 16 + length, file_bytes.size()) << "truncated record at byte " << at;
    if (at + 16 + length > file_bytes.size()) break;
    const std::string data = file_bytes.substr(at + 12, length);
    EXPECT_EQ(little_endian({file_bytes.data() + at + 12 + length, 4}),
              reference_mask(reference_crc32c(data)))
        << "data CRC of the record at byte " << at;
    records.push_back(data);
    at += 16 + length;
  }
  return records;
}

// One decoded protobuf field: varint and fixed values as raw integers, bytes as a string.
struct Field {
  std::uint32_t number = 0;
  std::uint32_t wire_type = 0;
  std::uint64_t integer = 0;
  std::string bytes;
};

std::uint64_t read_varint(std::string_view data, std::size_t& at) {
  std::uint64_t value = 0;
  for (int shift = 0; at < data.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(data[at++]);
    value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  ADD_FAILURE() << "varint runs past the end";
  return value;
}

std::vector<Field> decode_message(std::string_view data) {
  std::vector<Field> fields;
  std::size_t at = 0;
  while (at < data.size()) {
    const std::uint64_t key = read_varint(data, at);
    Field field{static_cast<std::uint32_t>(key >> 3), static_cast<std::uint32_t>(key & 7), 0, ""};
    switch (field.wire_type) {
      case 0:
        field.integer = read_varint(data, at);
        break;
      case 1:
        field.integer = little_endian(data.substr(at, 8));
        at += 8;
        break;
      case 5:
        field.integer = little_endian(data.substr(at, 4));
        at += 4;
        break;
      case 2: {
        const std::uint64_t length = read_varint(data, at);
        field.bytes = std::string(data.substr(at, length));
        at += length;
        break;
      }
      default:
        ADD_FAILURE() << "unexpected wire type " << field.wire_type;
        return fields;
    }
    EXPECT_LE(at, data.size()) << "field " << field.number << " runs past the end";
    fields.push_back(field);
  }
  return fields;
}

// event.proto's Event, as far as the host writes it.
struct DecodedEvent {
  std::optional<double> wall_time;
  std::optional<std::int64_t> step;
  std::optional<std::string> file_version;
  std::optional<std::string> tag;
  std::optional<float> simple_value;
};

DecodedEvent decode_event(std::string_view data) {
  DecodedEvent event;
  for (const Field& field : decode_message(data)) {
    if (field.number == 1 && field.wire_type == 1) {
      event.wall_time = std::bit_cast<double>(field.integer);
    } else if (field.number == 2 && field.wire_type == 0) {
      event.step = static_cast<std::int64_t>(field.integer);
    } else if (field.number == 3 && field.wire_type == 2) {
      event.file_version = field.bytes;
    } else if (field.number == 5 && field.wire_type == 2) {  // Summary
      const std::vector<Field> summary = decode_message(field.bytes);
      EXPECT_EQ(summary.size(), 1u) << "one Summary.Value per event";
      for (const Field& value : summary) {
        EXPECT_EQ(value.number, 1u);
        for (const Field& part : decode_message(value.bytes)) {
          if (part.number == 1 && part.wire_type == 2) event.tag = part.bytes;
          if (part.number == 2 && part.wire_type == 5)
            event.simple_value = std::bit_cast<float>(static_cast<std::uint32_t>(part.integer));
        }
      }
    } else {
      ADD_FAILURE() << "unexpected Event field " << field.number << " (wire type "
                    << field.wire_type << ")";
    }
  }
  return event;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<DecodedEvent> read_events(const fs::path& file) {
  std::vector<DecodedEvent> events;
  for (const std::string& record : read_records(read_bytes(file)))
    events.push_back(decode_event(record));
  return events;
}

std::vector<fs::path> event_files(const fs::path& folder) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0)
      files.push_back(entry.path());
  return files;
}

TensorboardWriter::Options fixed_options(double now, std::string suffix = "") {
  return {std::move(suffix), "testhost", [now] { return now; }};
}

// ---- CRC and framing ------------------------------------------------------------------------

TEST(TensorboardRecord, Crc32cMatchesTheBitwiseReference) {
  EXPECT_EQ(reference_crc32c("123456789"), 0xE3069283u);  // the catalogued check value
  EXPECT_EQ(tensorboard::crc32c("123456789"), 0xE3069283u);
  const std::string samples[] = {"", "a", std::string(8, '\0'), "brain.Event:2",
                                 std::string("\xff\x00\x80 binary", 10)};
  for (const std::string& sample : samples) {
    EXPECT_EQ(tensorboard::crc32c(sample), reference_crc32c(sample)) << sample;
    EXPECT_EQ(tensorboard::masked_crc32c(sample), reference_mask(reference_crc32c(sample)));
  }
}

TEST(TensorboardRecord, FrameIsLengthCrcDataCrc) {
  const std::string record = tensorboard::frame_record("hello");
  ASSERT_EQ(record.size(), 8u + 4u + 5u + 4u);
  EXPECT_EQ(little_endian(std::string_view(record).substr(0, 8)), 5u);
  EXPECT_EQ(record.substr(12, 5), "hello");
  const std::vector<std::string> records = read_records(record + tensorboard::frame_record(""));
  EXPECT_EQ(records, (std::vector<std::string>{"hello", ""}));
}

// ---- The writer -----------------------------------------------------------------------------

TEST(TensorboardWriter, FileNameIsTensorboardsOwn) {
  EXPECT_EQ(tensorboard_file_name(1700000000.75, "node-1", ""),
            "events.out.tfevents.1700000000.node-1");
  EXPECT_EQ(tensorboard_file_name(12.0, "h", ".train"), "events.out.tfevents.12.h.train");
}

TEST(TensorboardWriter, VersionEventFirstThenScalarsEachFlushed) {
  TempDir temp;
  TensorboardWriter writer(temp.path() / "tb", fixed_options(1700000000.75, ".lmf"));
  EXPECT_EQ(writer.path(), temp.path() / "tb" / "events.out.tfevents.1700000000.testhost.lmf");
  writer.add_scalar("train/loss", 2.5, 1, 1700000001.25);
  writer.add_scalar("train/lr", 3e-5, 2, 1700000002.5);
  writer.add_scalar("eval/loss", 1.0 / 3.0, 1099511627776, 1700000003.0);  // 2^40: a long varint

  // Read while the writer is open: every record is already on disk.
  const std::vector<DecodedEvent> events = read_events(writer.path());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[0].wall_time, 1700000000.75);
  EXPECT_FALSE(events[0].tag.has_value());

  EXPECT_EQ(events[1].tag, "train/loss");
  EXPECT_EQ(events[1].step, 1);
  EXPECT_EQ(events[1].simple_value, 2.5f);
  EXPECT_EQ(events[1].wall_time, 1700000001.25);
  EXPECT_FALSE(events[1].file_version.has_value());

  EXPECT_EQ(events[2].tag, "train/lr");
  EXPECT_EQ(events[2].step, 2);
  EXPECT_EQ(events[2].simple_value, 3e-5f);
  EXPECT_EQ(events[2].wall_time, 1700000002.5);

  EXPECT_EQ(events[3].tag, "eval/loss");
  EXPECT_EQ(events[3].step, 1099511627776);
  EXPECT_EQ(events[3].simple_value, 1.0f / 3.0f);
  EXPECT_EQ(writer.error(), "");
}

TEST(TensorboardWriter, NegativeStepsAndNonFiniteValuesSurvive) {
  TempDir temp;
  TensorboardWriter writer(temp.path(), fixed_options(5.0));
  writer.add_scalar("a", std::numeric_limits<double>::quiet_NaN(), -1, 6.0);
  writer.add_scalar("b", -std::numeric_limits<double>::infinity(), 0, 6.0);
  writer.add_scalar("c", 1e300, 3, 6.0);  // beyond float: infinite, as IEEE narrowing gives

  const std::vector<DecodedEvent> events = read_events(writer.path());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].step, -1);
  ASSERT_TRUE(events[1].simple_value.has_value());
  EXPECT_TRUE(std::isnan(*events[1].simple_value));
  EXPECT_EQ(events[2].simple_value, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(events[3].simple_value, std::numeric_limits<float>::infinity());
}

TEST(TensorboardWriter, ASecondWriterInTheSameSecondAppends) {
  TempDir temp;
  {
    TensorboardWriter first(temp.path(), fixed_options(100.0));
    first.add_scalar("x", 1.0, 1, 100.0);
  }
  TensorboardWriter second(temp.path(), fixed_options(100.5));
  second.add_scalar("x", 2.0, 2, 100.5);
  const std::vector<DecodedEvent> events = read_events(second.path());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[1].simple_value, 1.0f);
  EXPECT_EQ(events[2].file_version, "brain.Event:2");
  EXPECT_EQ(events[3].simple_value, 2.0f);
}

TEST(TensorboardWriter, OpenErrorNamesThePath) {
  TempDir temp;
  const fs::path not_a_folder = temp.path() / "file";
  std::ofstream(not_a_folder) << "x";
  try {
    TensorboardWriter writer(not_a_folder / "tb", fixed_options(1.0));
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), (not_a_folder / "tb").string()));
  }
}

TEST(TensorboardWriter, AFailedVersionEventThrowsNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full to fill";
  TempDir temp;
  fs::create_symlink("/dev/full", temp.path() / "events.out.tfevents.1.testhost");
  try {
    TensorboardWriter writer(temp.path(), fixed_options(1.0));
    FAIL() << "the version event cannot be written to /dev/full";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), "events.out.tfevents.1.testhost"));
    EXPECT_TRUE(Contains(e.what(), "No space left on device"));
  }
}

// ---- MetricsSink and RunServices fan-out ----------------------------------------------------

TEST(TensorboardMetricsSink, EveryRecordGoesToBothFiles) {
  TempDir temp;
  double now = 1700000000.0;
  MetricsSink sink(temp.path() / "metrics.jsonl", MetricsSink::OpenMode::truncate,
                   [&] { return now; });
  sink.record("trainer", "before", 9.0, 0);  // before add_tensorboard: JSON Lines only
  sink.add_tensorboard(temp.path() / "tensorboard");
  now = 1700000001.5;
  sink.record("trainer", "train/loss", 2.0, 10);
  now = 1700000002.5;
  sink.record("trainer", "eval/loss", std::numeric_limits<double>::infinity(), 10);

  ASSERT_TRUE(sink.tensorboard_path().has_value());
  EXPECT_EQ(sink.tensorboard_path()->parent_path(), temp.path() / "tensorboard");
  EXPECT_EQ(
      sink.tensorboard_path()->filename().string().rfind("events.out.tfevents.1700000000.", 0), 0u);
  const std::vector<DecodedEvent> events = read_events(*sink.tensorboard_path());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[1].tag, "train/loss");
  EXPECT_EQ(events[1].step, 10);
  EXPECT_EQ(events[1].simple_value, 2.0f);
  EXPECT_EQ(events[1].wall_time, 1700000001.5);  // the JSON Lines record's time
  EXPECT_EQ(events[2].tag, "eval/loss");
  EXPECT_EQ(events[2].simple_value, std::numeric_limits<float>::infinity());
  EXPECT_EQ(sink.error(), "");
}

TEST(TensorboardMetricsSink, TruncatingSinkDeletesEarlierEventFilesAppendingKeepsThem) {
  TempDir temp;
  const fs::path folder = temp.path() / "tensorboard";
  fs::create_directories(folder);
  std::ofstream(folder / "events.out.tfevents.1.old") << "old";
  std::ofstream(folder / "notes.txt") << "mine";

  MetricsSink appending(temp.path() / "a.jsonl", MetricsSink::OpenMode::append, [] { return 2.0; });
  appending.add_tensorboard(folder);
  EXPECT_EQ(event_files(folder).size(), 2u);

  MetricsSink truncating(temp.path() / "t.jsonl", MetricsSink::OpenMode::truncate,
                         [] { return 3.0; });
  truncating.add_tensorboard(folder);
  const std::vector<fs::path> left = event_files(folder);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], *truncating.tensorboard_path());
  EXPECT_TRUE(fs::exists(folder / "notes.txt"));
}

TEST(TensorboardMetricsSink, WriteFailureIsReportedByError) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full to fill";
  TempDir temp;
  MetricsSink sink("/dev/full", MetricsSink::OpenMode::append, [] { return 1.0; });
  sink.add_tensorboard(temp.path());
  EXPECT_NO_THROW(sink.record("trainer", "train/loss", 1.0, 1));
  EXPECT_TRUE(Contains(sink.error(), "cannot write metrics file '/dev/full'"));
  // The event file was written: only the JSON Lines output failed.
  EXPECT_EQ(read_events(*sink.tensorboard_path()).size(), 2u);
}

TEST(TensorboardRunServices, OpenMetricsPutsTensorboardBesideTheJsonLines) {
  TempDir temp;
  std::ostringstream terminal;
  Logger logger(terminal);
  ProgressBoard progress(terminal);
  pipeline::RunServices services(logger, progress, Cancellation::process());
  services.open_metrics(temp.path() / "metrics.jsonl");
  services.metric("trainer", "train/grad_norm", 0.75, 4);

  ASSERT_TRUE(services.metrics().tensorboard_path().has_value());
  EXPECT_EQ(services.metrics().tensorboard_path()->parent_path(), temp.path() / "tensorboard");
  const std::vector<DecodedEvent> events = read_events(*services.metrics().tensorboard_path());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].tag, "train/grad_norm");
  EXPECT_EQ(events[1].step, 4);
  EXPECT_EQ(events[1].simple_value, 0.75f);
}

// ---- The fixture TensorBoard opens ----------------------------------------------------------

// What tests/fixtures/metrics/check_tensorboard.py expects to find; keep the two in step.
void write_fixture_events(const fs::path& folder) {
  TensorboardWriter writer(folder, {"", "lmforge-fixture", [] { return 1700000000.0; }});
  for (int step = 1; step <= 5; ++step) {
    const double time = 1700000000.0 + step;
    writer.add_scalar("train/loss", 4.0 - 0.5 * step, step, time);
    writer.add_scalar("train/lr", 1e-5 * step, step, time);
  }
  writer.add_scalar("eval/loss", 2.25, 5, 1700000005.5);
  writer.add_scalar("train/grad_norm", std::numeric_limits<double>::quiet_NaN(), 6, 1700000006.0);
}

const fs::path kFixture = fs::path(LMF_TEST_FIXTURES_DIR) / "metrics" / "tensorboard" /
                          "events.out.tfevents.1700000000.lmforge-fixture";

// The committed fixture is byte for byte what the writer writes today. To remake it:
//   LMF_TB_OUT=tests/fixtures/metrics/tensorboard build/cpu/bin/lmf_core_tests
//     --gtest_filter=TensorboardFixture.*      (one command line)
TEST(TensorboardFixture, CommittedFixtureIsWhatTheWriterWrites) {
  if (const char* out = std::getenv("LMF_TB_OUT")) {
    fs::remove(fs::path(out) / kFixture.filename());
    write_fixture_events(out);
  }
  TempDir temp;
  write_fixture_events(temp.path());
  const std::string written = read_bytes(temp.path() / kFixture.filename());
  ASSERT_TRUE(fs::exists(kFixture)) << kFixture << " is missing; see this test's comment";
  EXPECT_EQ(read_bytes(kFixture), written) << kFixture << " differs from the writer's output";

  const std::vector<DecodedEvent> events = read_events(kFixture);
  ASSERT_EQ(events.size(), 13u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_EQ(events[9].tag, "train/loss");
  EXPECT_EQ(events[9].simple_value, 1.5f);
  EXPECT_EQ(events[9].step, 5);
}

}  // namespace
}  // namespace lmf::services
