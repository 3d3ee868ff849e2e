// SafetensorsReader on files assembled byte by byte: what it serves from a valid file, and
// every refusal, each naming the file and the tensor or field at fault.
#include "checkpoint/safetensors_reader.h"

#include <gtest/gtest.h>

#include <utility>

#include "checkpoint/checkpoint_error.h"
#include "tests/backend_checkpoint/checkpoint_test_support.h"

namespace lmf::checkpoint {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace testing;  // checkpoint_test_support.h

std::string refusal(const fs::path& path) {
  return refusal_of([&] { SafetensorsReader reader(path); });
}

TEST(CheckpointReader, ServesTensorsInHeaderOrderFromTheMapping) {
  TempDir dir;
  // "b" comes first in the header but second in the buffer.
  const std::string header = R"({"b":{"dtype":"I16","shape":[3],"data_offsets":[4,10]},)"
                             R"("__metadata__":{"format":"pt","note":"x"},)"
                             R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const std::string buffer = "AAAAbbbbbb";
  const auto path = write_file(dir.path() / "m.safetensors", safetensors_bytes(header, buffer));

  const SafetensorsReader reader(path);
  EXPECT_EQ(reader.path(), path);
  ASSERT_EQ(reader.tensors().size(), 2u);
  EXPECT_EQ(reader.tensors()[0].name, "b");
  EXPECT_EQ(reader.tensors()[1].name, "a");

  const TensorEntry& b = reader.at("b");
  EXPECT_EQ(b.dtype, DType::I16);
  EXPECT_EQ(b.shape, std::vector<int64_t>{3});
  EXPECT_EQ(b.nbytes, 6u);
  EXPECT_EQ(as_string(b.bytes()), "bbbbbb");
  const TensorEntry* a = reader.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, DType::F32);
  EXPECT_EQ(as_string(a->bytes()), "AAAA");
  EXPECT_EQ(reader.find("c"), nullptr);

  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "x"}};
  EXPECT_EQ(reader.metadata(), metadata);
}

TEST(CheckpointReader, DataPointsIntoTheFileNotACopy) {
  TempDir dir;
  const std::string header = R"({"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})";
  const auto path = write_file(dir.path() / "m.safetensors", safetensors_bytes(header, "xy"));
  SafetensorsReader first(path);
  const std::byte* data = first.at("t").data;
  const MappedFile same_file(path);
  // The tensor's bytes sit at 8 + header length in the mapped file.
  EXPECT_EQ(as_string({data, 2}), as_string(same_file.bytes().subspan(8 + header.size(), 2)));
  const SafetensorsReader moved(std::move(first));
  EXPECT_EQ(moved.at("t").data, data);
}

TEST(CheckpointReader, AcceptsScalarsEmptyTensorsPaddingAndUnknownFields) {
  TempDir dir;
  std::string header = R"( {"s":{"dtype":"F64","shape":[],"data_offsets":[0,8],"extra":[1]},)"
                       R"("e":{"dtype":"BF16","shape":[0,4],"data_offsets":[8,8]},)"
                       R"("z":{"dtype":"BOOL","shape":[2],"data_offsets":[8,10]}})";
  header.append(8 - header.size() % 8, ' ');  // the writer's padding
  const auto path =
      write_file(dir.path() / "m.safetensors", safetensors_bytes(header, "12345678\x01\x00"s));
  const SafetensorsReader reader(path);
  ASSERT_EQ(reader.tensors().size(), 3u);
  EXPECT_TRUE(reader.at("s").shape.empty());
  EXPECT_EQ(reader.at("s").nbytes, 8u);
  EXPECT_EQ(reader.at("e").shape, (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(reader.at("e").nbytes, 0u);
  EXPECT_EQ(as_string(reader.at("z").bytes()), "\x01\x00"s);
  EXPECT_TRUE(reader.metadata().empty());
}

TEST(CheckpointReader, AnEmptyHeaderIsAFileWithoutTensors) {
  TempDir dir;
  const auto path = write_file(dir.path() / "m.safetensors", safetensors_bytes("{}", ""));
  EXPECT_TRUE(SafetensorsReader(path).tensors().empty());
}

TEST(CheckpointReader, AskingForAMissingTensorNamesFileAndTensor) {
  TempDir dir;
  const auto path = write_file(dir.path() / "m.safetensors", safetensors_bytes("{}", ""));
  const SafetensorsReader reader(path);
  EXPECT_EQ(refusal_of([&] { reader.at("lm_head.weight"); }),
            path.string() + ": no tensor \"lm_head.weight\"");
}

TEST(CheckpointReader, RefusesFilesShorterThanTheLength) {
  TempDir dir;
  const auto path = write_file(dir.path() / "short.safetensors", "\x05\x00\x00\x00\x00"s);
  const std::string message = refusal(path);
  EXPECT_TRUE(Contains(message, path.string() + ": 5 bytes, too short"));
}

TEST(CheckpointReader, RefusesAnAbsurdHeaderLength) {
  TempDir dir;
  // 100,000,001 = 0x05F5E101, little-endian: just over the crate's limit.
  const auto path =
      write_file(dir.path() / "big.safetensors", "\x01\xE1\xF5\x05\x00\x00\x00\x00{}"s);
  const std::string message = refusal(path);
  EXPECT_TRUE(Contains(message, path.string() + ": header length 100000001 exceeds the limit"));
}

TEST(CheckpointReader, RefusesAHeaderLongerThanTheFile) {
  TempDir dir;
  const auto path =
      write_file(dir.path() / "cut.safetensors", "\x40\x00\x00\x00\x00\x00\x00\x00{}"s);
  const std::string message = refusal(path);
  EXPECT_TRUE(Contains(
      message, path.string() + ": header length 64 runs past the end of the file (10 bytes"));
}

// A header and buffer that the reader must refuse, with the words the message must hold.
struct BadFile {
  const char* label;
  std::string header;
  std::string buffer;
  std::vector<std::string> expected;
};

void PrintTo(const BadFile& file, std::ostream* out) {
  *out << file.label;
}

class CheckpointReaderRefusal : public ::testing::TestWithParam<BadFile> {};

TEST_P(CheckpointReaderRefusal, NamesTheFileAndTheFault) {
  TempDir dir;
  const BadFile& bad = GetParam();
  const auto path =
      write_file(dir.path() / "bad.safetensors", safetensors_bytes(bad.header, bad.buffer));
  const std::string message = refusal(path);
  EXPECT_TRUE(Contains(message, path.string() + ": "));
  for (const std::string& part : bad.expected) EXPECT_TRUE(Contains(message, part));
}

const std::string kW = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

INSTANTIATE_TEST_SUITE_P(
    Header, CheckpointReaderRefusal,
    ::testing::Values(
        BadFile{
            "invalid_utf8", "{\"w\xff\":1}", "", {"header: not valid UTF-8 (byte 11 of the file)"}},
        BadFile{"overlong_utf8", "{\"\xc0\xaf\":1}", "", {"header: not valid UTF-8 (byte 10"}},
        BadFile{"not_json", R"({"w":)", "", {"header: invalid JSON: ", "parse error"}},
        BadFile{"not_an_object", "[1,2]", "", {"header: must be a JSON object, got array"}},
        BadFile{"duplicate_tensor",
                "{" + kW + "," + kW + "}",
                "12345678",
                {"header: duplicate key \"w\""}},
        BadFile{"duplicate_field",
                R"({"w":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})",
                "12345678",
                {"duplicate key \"dtype\" in \"w\""}},
        BadFile{"metadata_not_object",
                R"({"__metadata__":[1]})",
                "",
                {"header: \"__metadata__\" must be an object of strings, got array"}},
        BadFile{"metadata_not_string",
                R"({"__metadata__":{"format":1}})",
                "",
                {"header: \"__metadata__\" > \"format\" must be a string, got number 1"}}),
    [](const auto& test) { return std::string(test.param.label); });

INSTANTIATE_TEST_SUITE_P(
    TensorFields, CheckpointReaderRefusal,
    ::testing::Values(
        BadFile{"not_an_object",
                R"({"w":5})",
                "",
                {"tensor \"w\": expected an object with \"dtype\", \"shape\" and \"data_offsets\", "
                 "got number 5"}},
        BadFile{"missing_dtype",
                R"({"w":{"shape":[2],"data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": missing \"dtype\""}},
        BadFile{"missing_shape",
                R"({"w":{"dtype":"F32","data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": missing \"shape\""}},
        BadFile{"missing_offsets",
                R"({"w":{"dtype":"F32","shape":[2]}})",
                "12345678",
                {"tensor \"w\": missing \"data_offsets\""}},
        BadFile{"dtype_not_string",
                R"({"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": \"dtype\" must be a string, got number 4"}},
        BadFile{
            "unknown_dtype",
            R"({"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})",
            "1",
            {"tensor \"w\": unknown dtype \"F4\" (supported: BOOL, U8, ", "F32, F64, I64, U64)"}},
        BadFile{"shape_not_array",
                R"({"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": \"shape\" must be an array, got number 2"}},
        BadFile{"negative_dimension",
                R"({"w":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": \"shape\"[1] must be a non-negative integer, got number -1"}},
        BadFile{"fractional_dimension",
                R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": \"shape\"[0] must be a non-negative integer, got number 2.0"}},
        BadFile{"huge_dimension",
                R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": \"shape\"[0] is too large: 9223372036854775808"}},
        BadFile{"size_overflows",
                R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})",
                "12345678",
                {"tensor \"w\": the size of F32 [4294967296, 4294967296] overflows"}},
        BadFile{"offsets_not_a_pair",
                R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}})",
                "12345678",
                {"tensor \"w\": \"data_offsets\" must be [begin, end], got array [8]"}},
        BadFile{
            "negative_offset",
            R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}})",
            "12345678",
            {"tensor \"w\": \"data_offsets\"[0] must be a non-negative integer, got number -8"}},
        BadFile{"end_before_begin",
                R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})",
                "12345678",
                {"tensor \"w\": \"data_offsets\" end before they begin: [8, 0]"}},
        BadFile{"size_mismatch",
                R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})",
                "123456789012",
                {"tensor \"w\": \"data_offsets\" [0, 12] hold 12 bytes, but F32 [2, 2] needs 16"}}),
    [](const auto& test) { return std::string(test.param.label); });

INSTANTIATE_TEST_SUITE_P(
    BufferLayout, CheckpointReaderRefusal,
    ::testing::Values(
        BadFile{"end_past_buffer",
                R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                "1234",
                {"tensor \"w\": \"data_offsets\" [0, 8] end past the data buffer (4 bytes"}},
        BadFile{"overlap",
                R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                "123456789012",
                {"tensor \"b\": \"data_offsets\" [4, 12] overlap tensor \"a\" [0, 8]"}},
        BadFile{"gap_between",
                R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                "123456789012",
                {"tensor \"b\": \"data_offsets\" [8, 12] leave bytes [4, 8] of the data buffer "
                 "unused"}},
        BadFile{
            "gap_at_start",
            R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
            "1234",
            {"tensor \"w\": \"data_offsets\" [2, 4] leave bytes [0, 2] of the data buffer unused"}},
        BadFile{
            "trailing_bytes",
            R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
            "1234",
            {"the data buffer has 4 bytes but the tensors cover only 2: bytes [2, 4] are unused"}},
        BadFile{"bytes_without_tensors",
                "{}",
                "xx",
                {"the data buffer has 2 bytes but the tensors cover only 0"}}),
    [](const auto& test) { return std::string(test.param.label); });

}  // namespace
}  // namespace lmf::checkpoint
