// write_safetensors_file: the exact bytes the Rust crate writes (Note [Tensor order]),
// round trips through the reader, refusals before anything is written, and the atomic
// replacement (Note [Atomic writes]).
#include "checkpoint/safetensors_writer.h"

#include <gtest/gtest.h>

#include "checkpoint/checkpoint_error.h"
#include "checkpoint/safetensors_reader.h"
#include "tests/backend_checkpoint/checkpoint_test_support.h"

namespace lmf::checkpoint {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace testing;  // checkpoint_test_support.h

std::string refusal(const fs::path& path, const std::vector<TensorToWrite>& tensors) {
  return refusal_of([&] { write_safetensors_file(path, tensors); });
}

TEST(CheckpointWriter, WritesTheCratesBytes) {
  TempDir dir;
  const std::string f16 = "\x01\x02\x03\x04", i8 = "xyz", c = "ABCD", a = "EFGH";
  const std::vector<TensorToWrite> tensors = {{"b_f16", DType::F16, {2}, as_bytes(f16)},
                                              {"a_i8", DType::I8, {3}, as_bytes(i8)},
                                              {"c_f32", DType::F32, {1}, as_bytes(c)},
                                              {"a_f32", DType::F32, {1}, as_bytes(a)}};
  const auto path = dir.path() / "m.safetensors";
  write_safetensors_file(path, tensors, {{"format", "pt"}});

  // By dtype, widest first, then by name; metadata first; 261 bytes of JSON padded to 264.
  const std::string header = R"({"__metadata__":{"format":"pt"},)"
                             R"("a_f32":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("c_f32":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},)"
                             R"("b_f16":{"dtype":"F16","shape":[2],"data_offsets":[8,12]},)"
                             R"("a_i8":{"dtype":"I8","shape":[3],"data_offsets":[12,15]}})"
                             "   ";
  EXPECT_EQ(read_file(path), safetensors_bytes(header, "EFGHABCD\x01\x02\x03\x04xyz"));
}

TEST(CheckpointWriter, OrdersDtypesAsTheCratesEnumDescending) {
  TempDir dir;
  std::vector<std::string> storage;
  for (const DTypeInfo& info : all_dtypes()) storage.push_back(std::string(info.size, '\0'));
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < all_dtypes().size(); ++i) {
    const DTypeInfo& info = all_dtypes()[i];
    tensors.push_back({"t_" + std::string(info.name), info.dtype, {1}, as_bytes(storage[i])});
  }
  const auto path = dir.path() / "m.safetensors";
  write_safetensors_file(path, tensors);

  std::vector<std::string> order;
  const SafetensorsReader reader(path);
  for (const TensorEntry& entry : reader.tensors()) order.push_back(entry.name);
  const std::vector<std::string> expected = {"t_U64",     "t_I64",     "t_F64", "t_F32", "t_U32",
                                             "t_I32",     "t_BF16",    "t_F16", "t_U16", "t_I16",
                                             "t_F8_E4M3", "t_F8_E5M2", "t_I8",  "t_U8",  "t_BOOL"};
  EXPECT_EQ(order, expected);
}

TEST(CheckpointWriter, OrdersNamesByTheirBytes) {
  TempDir dir;
  const std::string byte = "x";
  std::vector<TensorToWrite> tensors;
  for (const char* name : {"\xc3\xa9", "a", "_", "B", "a.1", "a.10", "a.2"}) {
    tensors.push_back({name, DType::U8, {1}, as_bytes(byte)});
  }
  const auto path = dir.path() / "m.safetensors";
  write_safetensors_file(path, tensors);
  std::vector<std::string> order;
  const SafetensorsReader reader(path);
  for (const TensorEntry& entry : reader.tensors()) order.push_back(entry.name);
  const std::vector<std::string> expected = {"B", "_", "a", "a.1", "a.10", "a.2", "\xc3\xa9"};
  EXPECT_EQ(order, expected);
}

TEST(CheckpointWriter, EscapesNamesAsSerdeJsonDoes) {
  TempDir dir;
  const std::string byte = "\x07";
  const std::vector<TensorToWrite> tensors = {{"q\"\n\x01\xc3\xa9", DType::U8, {}, as_bytes(byte)}};
  const auto path = dir.path() / "m.safetensors";
  write_safetensors_file(path, tensors);
  // Quote, newline and control characters escaped (lower-case hex), UTF-8 kept as it is;
  // 64 bytes, no padding.
  const std::string header = R"({"q\"\n\u0001)"
                             "\xc3\xa9"
                             R"(":{"dtype":"U8","shape":[],"data_offsets":[0,1]}})";
  EXPECT_EQ(read_file(path), safetensors_bytes(header, "\x07"));
}

TEST(CheckpointWriter, WithoutTensorsWritesAnEmptyObject) {
  TempDir dir;
  const auto path = dir.path() / "m.safetensors";
  write_safetensors_file(path, {});
  EXPECT_EQ(read_file(path), safetensors_bytes("{}      ", ""));
}

TEST(CheckpointWriter, RoundTripsThroughTheReader) {
  TempDir dir;
  std::string weights(2 * 3 * 2, '\0');
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<char>(i * 7 + 1);
  const std::string ids = "\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff"s;
  const std::vector<TensorToWrite> tensors = {
      {"model.layers.0.w", DType::BF16, {2, 3}, as_bytes(weights)},
      {"ids", DType::I64, {2}, as_bytes(ids)}};
  const auto path = dir.path() / "m.safetensors";
  write_safetensors_file(path, tensors, {{"format", "pt"}, {"by", "lmforge"}});

  const SafetensorsReader reader(path);
  EXPECT_EQ(reader.tensors().size(), 2u);
  const TensorEntry& w = reader.at("model.layers.0.w");
  EXPECT_EQ(w.dtype, DType::BF16);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(as_string(w.bytes()), weights);
  EXPECT_EQ(as_string(reader.at("ids").bytes()), ids);
  const std::map<std::string, std::string> metadata = {{"by", "lmforge"}, {"format", "pt"}};
  EXPECT_EQ(reader.metadata(), metadata);
}

TEST(CheckpointWriter, ReplacesAFileWhileItsOldMappingKeepsTheOldBytes) {
  TempDir dir;
  const auto path = dir.path() / "m.safetensors";
  const std::string old_bytes = "oldd", new_bytes = "neww";
  write_safetensors_file(path,
                         std::vector<TensorToWrite>{{"t", DType::U8, {4}, as_bytes(old_bytes)}});
  const SafetensorsReader old_reader(path);
  write_safetensors_file(path,
                         std::vector<TensorToWrite>{{"t", DType::U8, {4}, as_bytes(new_bytes)}});
  EXPECT_EQ(as_string(old_reader.at("t").bytes()), "oldd");
  EXPECT_EQ(as_string(SafetensorsReader(path).at("t").bytes()), "neww");
  EXPECT_EQ(folder_listing(dir.path()), std::vector<std::string>{"m.safetensors"});
}

TEST(CheckpointWriter, RefusesDataOfTheWrongSize) {
  TempDir dir;
  const auto path = dir.path() / "m.safetensors";
  const std::string data = "123456";
  const std::string message = refusal(path, {{"w", DType::F32, {2}, as_bytes(data)}});
  EXPECT_EQ(message, path.string() + ": tensor \"w\": 6 bytes of data, but F32 [2] needs 8");
  EXPECT_TRUE(folder_listing(dir.path()).empty());
}

TEST(CheckpointWriter, RefusesNegativeDimensions) {
  TempDir dir;
  const auto path = dir.path() / "m.safetensors";
  const std::string message = refusal(path, {{"w", DType::F32, {2, -2}, {}}});
  EXPECT_TRUE(
      Contains(message, path.string() + ": tensor \"w\": shape F32 [2, -2] has a negative"));
  EXPECT_TRUE(folder_listing(dir.path()).empty());
}

TEST(CheckpointWriter, RefusesATensorGivenTwice) {
  TempDir dir;
  const auto path = dir.path() / "m.safetensors";
  const std::string data = "1";
  const std::string message =
      refusal(path, {{"w", DType::U8, {1}, as_bytes(data)}, {"w", DType::U8, {1}, as_bytes(data)}});
  EXPECT_EQ(message, path.string() + ": tensor \"w\" is given twice");
  EXPECT_TRUE(folder_listing(dir.path()).empty());
}

TEST(CheckpointWriter, RefusesTheReservedMetadataName) {
  TempDir dir;
  const auto path = dir.path() / "m.safetensors";
  const std::string data = "1";
  const std::string message = refusal(path, {{"__metadata__", DType::U8, {1}, as_bytes(data)}});
  EXPECT_TRUE(Contains(message, path.string() + ": tensor \"__metadata__\": the name is reserved"));
}

TEST(CheckpointWriter, RefusesNamesThatAreNotUtf8) {
  TempDir dir;
  const auto path = dir.path() / "m.safetensors";
  const std::string data = "1";
  const std::string message = refusal(path, {{"w\xff", DType::U8, {1}, as_bytes(data)}});
  EXPECT_EQ(message, path.string() + ": a tensor name is not valid UTF-8");
  EXPECT_TRUE(folder_listing(dir.path()).empty());
}

TEST(CheckpointWriter, AFolderThatDoesNotExistIsNamed) {
  TempDir dir;
  const auto path = dir.path() / "missing" / "m.safetensors";
  const std::string message = refusal(path, {});
  EXPECT_TRUE(Contains(message, "cannot create a temporary file for " + path.string()));
  EXPECT_TRUE(Contains(message, "No such file or directory"));
  EXPECT_TRUE(folder_listing(dir.path()).empty());
}

TEST(CheckpointWriter, AWriteThatFailsMidwayLeavesTheOldFileAndNoTemporary) {
  TempDir dir;
  const auto path = dir.path() / "model.safetensors";
  const std::string old_file = read_file(write_file(path, "the previous checkpoint"));
  const std::string big(64 * 1024, 'w');
  std::string message;
  {
    FileSizeLimit limit(4096);  // the header fits, the data does not
    message = refusal(path, {{"w", DType::U8, {64 * 1024}, as_bytes(big)}});
  }
  EXPECT_TRUE(Contains(message, "cannot write " + path.string()));
  EXPECT_TRUE(Contains(message, "File too large"));
  EXPECT_EQ(read_file(path), old_file);
  EXPECT_EQ(folder_listing(dir.path()), std::vector<std::string>{"model.safetensors"});
}

}  // namespace
}  // namespace lmf::checkpoint
