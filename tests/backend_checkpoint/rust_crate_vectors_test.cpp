// The byte vectors of the Rust crate's own tests (safetensors/src/tensor.rs, `mod tests`:
// test_serialization, test_serialization_forced_alignement, test_empty,
// test_empty_shapes_allowed, test_json_attack, test_metadata_incomplete_buffer),
// transcribed: our writer must produce those bytes, our reader accept and refuse the same
// files.
#include <gtest/gtest.h>

#include <cstring>

#include "checkpoint/safetensors_reader.h"
#include "checkpoint/safetensors_writer.h"
#include "tests/backend_checkpoint/checkpoint_test_support.h"

namespace lmf::checkpoint {
namespace {

using namespace testing;  // checkpoint_test_support.h

std::string from_numbers(const std::vector<int>& numbers) {
  std::string bytes;
  for (int number : numbers) bytes.push_back(static_cast<char>(number));
  return bytes;
}

// 0.0f, 1.0f, ..., 5.0f little-endian, the crate's test data.
std::string zero_to_five() {
  std::string bytes;
  for (int i = 0; i < 6; ++i) {
    const float value = static_cast<float>(i);
    char raw[4];
    std::memcpy(raw, &value, 4);
    bytes.append(raw, 4);
  }
  return bytes;
}

std::string written(const std::vector<TensorToWrite>& tensors, const FileMetadata& metadata) {
  TempDir dir;
  write_safetensors_file(dir.path() / "out.safetensors", tensors, metadata);
  return read_file(dir.path() / "out.safetensors");
}

TEST(CheckpointRustCrateVectors, Serialization) {
  const std::string data = zero_to_five();
  const std::string expected =
      from_numbers({64, 0,  0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110, 46,  48,
                    34, 58, 123, 34,  100, 116, 121, 112, 101, 34,  58,  34,  70,  51,  50,  34,
                    44, 34, 115, 104, 97,  112, 101, 34,  58,  91,  49,  44,  50,  44,  51,  93,
                    44, 34, 100, 97,  116, 97,  95,  111, 102, 102, 115, 101, 116, 115, 34,  58,
                    91, 48, 44,  50,  52,  93,  125, 125, 0,   0,   0,   0,   0,   0,   128, 63,
                    0,  0,  0,   64,  0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64});
  EXPECT_EQ(written({{"attn.0", DType::F32, {1, 2, 3}, as_bytes(data)}}, {}), expected);
}

TEST(CheckpointRustCrateVectors, SerializationForcedAlignment) {
  const std::string data = zero_to_five();
  const std::string expected = from_numbers(
      {72,  0,   0,   0,   0,   0,   0,   0,   123, 34, 97, 116, 116, 110, 48,  34,  58,  123,
       34,  100, 116, 121, 112, 101, 34,  58,  34,  70, 51, 50,  34,  44,  34,  115, 104, 97,
       112, 101, 34,  58,  91,  49,  44,  49,  44,  50, 44, 51,  93,  44,  34,  100, 97,  116,
       97,  95,  111, 102, 102, 115, 101, 116, 115, 34, 58, 91,  48,  44,  50,  52,  93,  125,
       125, 32,  32,  32,  32,  32,  32,  32,  0,   0,  0,  0,   0,   0,   128, 63,  0,   0,
       0,   64,  0,   0,   64,  64,  0,   0,   128, 64, 0,  0,   160, 64});
  EXPECT_EQ(written({{"attn0", DType::F32, {1, 1, 2, 3}, as_bytes(data)}}, {}), expected);
}

TEST(CheckpointRustCrateVectors, Empty) {
  EXPECT_EQ(written({}, {}),
            from_numbers({8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32}));
  EXPECT_EQ(
      written({}, {{"framework", "pt"}}),
      from_numbers({40,  0,   0,   0,  0,  0,  0,   0,   123, 34,  95,  95,  109, 101, 116, 97,
                    100, 97,  116, 97, 95, 95, 34,  58,  123, 34,  102, 114, 97,  109, 101, 119,
                    111, 114, 107, 34, 58, 34, 112, 116, 34,  125, 125, 32,  32,  32,  32,  32}));
}

TEST(CheckpointRustCrateVectors, EmptyShapesAllowed) {
  const std::string bytes = safetensors_bytes(
      R"({"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})", std::string(4, '\0'));
  ASSERT_EQ(bytes[0], '8');  // as in the crate's vector: a header of 0x38 = 56 bytes
  TempDir dir;
  const SafetensorsReader reader(write_file(dir.path() / "m.safetensors", bytes));
  EXPECT_TRUE(reader.at("test").shape.empty());
  EXPECT_EQ(reader.at("test").dtype, DType::I32);
  EXPECT_EQ(reader.at("test").nbytes, 4u);
}

TEST(CheckpointRustCrateVectors, JsonAttackIsRefused) {
  // Ten F32 [2, 2] tensors that all claim bytes [0, 16] of a 16-byte buffer.
  std::string header = "{";
  for (int i = 0; i < 10; ++i) {
    header += (i > 0 ? "," : "") + ("\"weight_" + std::to_string(i) + "\"") +
              R"(:{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]})";
  }
  TempDir dir;
  const auto path = write_file(dir.path() / "attack.safetensors",
                               safetensors_bytes(header + "}", std::string(16, '\0')));
  EXPECT_TRUE(Contains(refusal_of([&] { SafetensorsReader reader(path); }),
                       "\"data_offsets\" [0, 16] overlap tensor \"weight_"));
}

TEST(CheckpointRustCrateVectors, MetadataIncompleteBufferIsRefused) {
  const std::string header = R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})";
  TempDir dir;
  const auto extra = write_file(
      dir.path() / "extra.safetensors",
      safetensors_bytes(header, std::string(16, '\0') + "extra_bogus_data_for_polyglot_file"));
  const auto missing = write_file(dir.path() / "missing.safetensors",
                                  safetensors_bytes(header, std::string(14, '\0')));
  EXPECT_TRUE(Contains(refusal_of([&] { SafetensorsReader reader(extra); }),
                       "the data buffer has 50 bytes but the tensors cover only 16"));
  EXPECT_TRUE(
      Contains(refusal_of([&] { SafetensorsReader reader(missing); }),
               "tensor \"test\": \"data_offsets\" [0, 16] end past the data buffer (14 bytes"));
}

}  // namespace
}  // namespace lmf::checkpoint
