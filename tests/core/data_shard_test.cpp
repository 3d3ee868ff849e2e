// ShardWriter and ShardReader (Note [Shard format]): the bytes on disk checked against the
// format as documented (docs/data-format.md), decoded here without the code under test,
// and every way a damaged shard is refused with the file named.
#include "core/data/shard_reader.h"
#include "tests/support/temp_dir.h"
#include "core/data/shard_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

namespace lmf::data {
namespace {

namespace fs = std::filesystem;

using lmf::testing::Contains;

using lmf::testing::TempDir;

std::vector<unsigned char> read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& file, const std::vector<unsigned char>& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Little-endian integers, decoded byte by byte as a reader in another language would.
uint64_t le(const std::vector<unsigned char>& bytes, size_t at, size_t width) {
  uint64_t value = 0;
  for (size_t b = 0; b < width; ++b) value |= static_cast<uint64_t>(bytes.at(at + b)) << (8 * b);
  return value;
}

void put_le(std::vector<unsigned char>& bytes, size_t at, size_t width, uint64_t value) {
  for (size_t b = 0; b < width; ++b)
    bytes.at(at + b) = static_cast<unsigned char>(value >> (8 * b));
}

struct Document {
  std::vector<int32_t> ids;
  uint64_t record_id;
};

ShardInfo write_shard(const fs::path& folder, const std::string& name, uint64_t vocab_size,
                      const std::vector<Document>& documents) {
  ShardWriter writer(folder, name, vocab_size);
  for (const Document& document : documents) writer.append(document.ids, document.record_id);
  return writer.finish();
}

std::set<std::string> files_in(const fs::path& folder) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.insert(entry.path().filename().string());
  return names;
}

// What the reader says when it refuses a shard ("" when it opens it).
std::string reader_error(const fs::path& folder, const std::string& name) {
  try {
    ShardReader reader(folder, name);
    return "";
  } catch (const std::runtime_error& e) {
    return e.what();
  }
}

TEST(DataShard, NarrowShardBytesMatchTheFormat) {
  TempDir temp;
  const std::vector<Document> documents = {{{1, 2, 3}, 10}, {{}, 11}, {{999}, 42}};
  const ShardInfo info = write_shard(temp.path(), "00003", 1000, documents);
  EXPECT_EQ(info.name, "00003");
  EXPECT_EQ(info.documents, 3u);
  EXPECT_EQ(info.tokens, 4u);
  EXPECT_EQ(files_in(temp.path()), (std::set<std::string>{"00003.index", "00003.tokens"}));

  // uint16 little-endian ids, back to back.
  EXPECT_EQ(read_bytes(temp.path() / "00003.tokens"),
            (std::vector<unsigned char>{1, 0, 2, 0, 3, 0, 0xe7, 0x03}));

  const std::vector<unsigned char> index = read_bytes(temp.path() / "00003.index");
  ASSERT_EQ(index.size(), 48u + 8 * 4 + 8 * 3);
  EXPECT_EQ(std::string(index.begin(), index.begin() + 8), "LMFIDX01");
  EXPECT_EQ(le(index, 8, 4), 1u);      // version
  EXPECT_EQ(le(index, 12, 4), 2u);     // bytes per id
  EXPECT_EQ(le(index, 16, 8), 3u);     // documents
  EXPECT_EQ(le(index, 24, 8), 4u);     // tokens
  EXPECT_EQ(le(index, 32, 8), 1000u);  // vocabulary
  EXPECT_EQ(le(index, 40, 8), 0u);     // reserved
  const std::vector<uint64_t> offsets = {le(index, 48, 8), le(index, 56, 8), le(index, 64, 8),
                                         le(index, 72, 8)};
  EXPECT_EQ(offsets, (std::vector<uint64_t>{0, 3, 3, 4}));
  EXPECT_EQ(le(index, 80, 8), 10u);
  EXPECT_EQ(le(index, 88, 8), 11u);
  EXPECT_EQ(le(index, 96, 8), 42u);
}

TEST(DataShard, NarrowRoundTripKeepsDocumentsAndRecordIds) {
  TempDir temp;
  const std::vector<Document> documents = {{{1, 2, 3}, 10}, {{}, 11}, {{65535, 0, 7}, 42}};
  write_shard(temp.path(), "00000", 65536, documents);
  EXPECT_EQ(fs::file_size(temp.path() / "00000.tokens"), 6u * 2);

  ShardReader reader(temp.path(), "00000");
  EXPECT_EQ(reader.token_bytes(), 2u);
  EXPECT_EQ(reader.vocab_size(), 65536u);
  ASSERT_EQ(reader.documents(), documents.size());
  EXPECT_EQ(reader.tokens(), 6u);
  for (size_t i = 0; i < documents.size(); ++i) {
    EXPECT_EQ(reader.document(i), documents[i].ids) << "document " << i;
    EXPECT_EQ(reader.record_id(i), documents[i].record_id) << "document " << i;
  }
  const std::vector<int32_t> all = {1, 2, 3, 65535, 0, 7};
  for (size_t t = 0; t < all.size(); ++t) EXPECT_EQ(reader.token(t), all[t]) << "token " << t;
  EXPECT_THROW(reader.token(6), std::out_of_range);
  EXPECT_THROW(reader.document(3), std::out_of_range);
  EXPECT_THROW(reader.record_id(3), std::out_of_range);
}

TEST(DataShard, WideVocabularyUsesFourBytesAndKeepsLargeIds) {
  TempDir temp;
  const std::vector<Document> documents = {{{65535, 65536, 65537}, 0}, {{69999, 0, 256}, 1}};
  write_shard(temp.path(), "00000", 70000, documents);
  EXPECT_EQ(fs::file_size(temp.path() / "00000.tokens"), 6u * 4);
  EXPECT_EQ(fs::file_size(temp.path() / "00000.index"), 48u + 8 * 3 + 8 * 2);

  const std::vector<unsigned char> tokens = read_bytes(temp.path() / "00000.tokens");
  const std::vector<uint64_t> expected = {65535, 65536, 65537, 69999, 0, 256};
  for (size_t t = 0; t < expected.size(); ++t)
    EXPECT_EQ(le(tokens, 4 * t, 4), expected[t]) << "token " << t;
  EXPECT_EQ(le(read_bytes(temp.path() / "00000.index"), 12, 4), 4u);

  ShardReader reader(temp.path(), "00000");
  EXPECT_EQ(reader.token_bytes(), 4u);
  EXPECT_EQ(reader.document(0), documents[0].ids);
  EXPECT_EQ(reader.document(1), documents[1].ids);
}

TEST(DataShard, WidthChangesJustAbove65536) {
  TempDir temp;
  write_shard(temp.path() / "a", "00000", 65536, {{{65535}, 0}});
  write_shard(temp.path() / "b", "00000", 65537, {{{65536}, 0}});
  EXPECT_EQ(fs::file_size(temp.path() / "a" / "00000.tokens"), 2u);
  EXPECT_EQ(fs::file_size(temp.path() / "b" / "00000.tokens"), 4u);
  EXPECT_EQ(ShardReader(temp.path() / "b", "00000").token(0), 65536);
}

TEST(DataShard, EmptyShard) {
  TempDir temp;
  const ShardInfo info = write_shard(temp.path(), "00000", 258, {});
  EXPECT_EQ(info.documents, 0u);
  EXPECT_EQ(info.tokens, 0u);
  EXPECT_EQ(fs::file_size(temp.path() / "00000.tokens"), 0u);
  EXPECT_EQ(fs::file_size(temp.path() / "00000.index"), 48u + 8);

  ShardReader reader(temp.path(), "00000");
  EXPECT_EQ(reader.documents(), 0u);
  EXPECT_EQ(reader.tokens(), 0u);
  EXPECT_THROW(reader.document(0), std::out_of_range);
  EXPECT_THROW(reader.token(0), std::out_of_range);
}

TEST(DataShard, TokenOutsideTheVocabularyIsRejectedWithTheRecordNamed) {
  TempDir temp;
  ShardWriter writer(temp.path(), "00000", 100);
  writer.append(std::vector<int32_t>{1, 2}, 5);
  try {
    writer.append(std::vector<int32_t>{3, 100, 4}, 77);
    FAIL() << "id 100 accepted with a vocabulary of 100";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(Contains(e.what(), "record 77"));
    EXPECT_TRUE(Contains(e.what(), "token id 100"));
    EXPECT_TRUE(Contains(e.what(), "size 100"));
  }
  try {
    writer.append(std::vector<int32_t>{-1}, 78);
    FAIL() << "a negative id was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(Contains(e.what(), "record 78"));
    EXPECT_TRUE(Contains(e.what(), "token id -1"));
  }
  // A rejected document leaves nothing behind: the shard holds only what was accepted.
  EXPECT_EQ(writer.documents(), 1u);
  EXPECT_EQ(writer.tokens(), 2u);
  writer.append(std::vector<int32_t>{99}, 79);
  writer.finish();
  ShardReader reader(temp.path(), "00000");
  ASSERT_EQ(reader.documents(), 2u);
  EXPECT_EQ(reader.document(0), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(reader.document(1), (std::vector<int32_t>{99}));
  EXPECT_EQ(reader.record_id(1), 79u);
  EXPECT_EQ(fs::file_size(temp.path() / "00000.tokens"), 3u * 2);
}

TEST(DataShard, PartialFilesAreNeverVisible) {
  TempDir temp;
  {
    ShardWriter writer(temp.path(), "00000", 258);
    writer.append(std::vector<int32_t>{1, 2, 3}, 0);
    // While it is written, a shard exists only under its temporary name.
    EXPECT_EQ(files_in(temp.path()), (std::set<std::string>{"00000.tokens.partial"}));
    EXPECT_TRUE(Contains(reader_error(temp.path(), "00000"), "00000.index"));
  }
  // Abandoned without finish(): nothing is left.
  EXPECT_TRUE(files_in(temp.path()).empty());

  ShardWriter writer(temp.path(), "00001", 258);
  writer.append(std::vector<int32_t>{4}, 1);
  writer.finish();
  EXPECT_EQ(files_in(temp.path()), (std::set<std::string>{"00001.index", "00001.tokens"}));
}

TEST(DataShard, WriterCannotCreateItsFile) {
  TempDir temp;
  fs::create_directories(temp.path() / "00000.tokens.partial");  // a folder in the way
  try {
    ShardWriter writer(temp.path(), "00000", 258);
    FAIL() << "the writer opened a folder as its file";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), (temp.path() / "00000.tokens.partial").string()));
  }
}

// A good shard to damage: 2 documents, 5 tokens.
class DamagedShard : public ::testing::Test {
 protected:
  void SetUp() override { write_shard(temp.path(), "00000", 258, {{{1, 2, 3}, 0}, {{4, 5}, 2}}); }
  fs::path index() const { return temp.path() / "00000.index"; }
  fs::path tokens() const { return temp.path() / "00000.tokens"; }
  std::string error() const { return reader_error(temp.path(), "00000"); }
  void patch_index(size_t at, size_t width, uint64_t value) const {
    std::vector<unsigned char> bytes = read_bytes(index());
    put_le(bytes, at, width, value);
    write_bytes(index(), bytes);
  }
  void resize(const fs::path& file, size_t size) const {
    std::vector<unsigned char> bytes = read_bytes(file);
    bytes.resize(size, 0);
    write_bytes(file, bytes);
  }

  TempDir temp;
};

TEST_F(DamagedShard, IntactShardOpens) {
  EXPECT_EQ(error(), "");
}

TEST_F(DamagedShard, MissingIndex) {
  fs::remove(index());
  EXPECT_TRUE(Contains(error(), "cannot open " + index().string()));
}

TEST_F(DamagedShard, MissingTokens) {
  fs::remove(tokens());
  EXPECT_TRUE(Contains(error(), "cannot open " + tokens().string()));
}

TEST_F(DamagedShard, BadMagic) {
  patch_index(0, 1, 'X');
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
  EXPECT_TRUE(Contains(message, "not an lmforge shard index"));
}

TEST_F(DamagedShard, IndexShorterThanItsHeader) {
  resize(index(), 20);
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
  EXPECT_TRUE(Contains(message, "too short"));
}

TEST_F(DamagedShard, OtherVersion) {
  patch_index(8, 4, 2);
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
  EXPECT_TRUE(Contains(message, "index version 2"));
}

TEST_F(DamagedShard, UnsupportedTokenWidth) {
  patch_index(12, 4, 3);
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
  EXPECT_TRUE(Contains(message, "token width 3"));
}

TEST_F(DamagedShard, TruncatedTokens) {
  resize(tokens(), 5 * 2 - 1);
  const std::string message = error();
  EXPECT_TRUE(Contains(message, tokens().string()));
  EXPECT_TRUE(Contains(message, "holds 9 bytes"));
  EXPECT_TRUE(Contains(message, "5 tokens"));
}

TEST_F(DamagedShard, TokensLongerThanTheIndexSays) {
  resize(tokens(), 6 * 2);
  EXPECT_TRUE(Contains(error(), tokens().string()));
}

TEST_F(DamagedShard, TruncatedIndex) {
  resize(index(), 48 + 8 * 3 + 8 * 2 - 8);
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
  EXPECT_TRUE(Contains(message, "2 documents"));
}

TEST_F(DamagedShard, IndexAndTokensOfDifferentShards) {
  // The index of a shard with 3 tokens beside .tokens of 5.
  TempDir other;
  write_shard(other.path(), "00000", 258, {{{1, 2, 3}, 0}});
  fs::copy_file(other.path() / "00000.index", index(), fs::copy_options::overwrite_existing);
  const std::string message = error();
  EXPECT_TRUE(Contains(message, tokens().string()));
  EXPECT_TRUE(Contains(message, "3 tokens"));
}

TEST_F(DamagedShard, TokenCountDisagreesWithTheOffsets) {
  patch_index(24, 8, 4);  // tokens 4; .tokens cut to match, the offsets still end at 5
  resize(tokens(), 4 * 2);
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
  EXPECT_TRUE(Contains(message, "offset"));
}

TEST_F(DamagedShard, HugeDocumentCountIsRefusedNotRead) {
  // 2 + 2^60 documents: 16 * n wraps around to the same index size as 2 documents.
  patch_index(16, 8, 2 + (uint64_t{1} << 60));
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
}

TEST_F(DamagedShard, HugeTokenCountIsRefusedNotRead) {
  // 2^63 tokens of 2 bytes wrap around to 0 bytes; with every offset saying so too, only
  // the size check stands between the reader and memory past the end of the map.
  const uint64_t huge = uint64_t{1} << 63;
  patch_index(24, 8, huge);
  patch_index(48 + 8 * 1, 8, huge);
  patch_index(48 + 8 * 2, 8, huge);
  resize(tokens(), 0);
  EXPECT_TRUE(Contains(error(), tokens().string()));
}

TEST_F(DamagedShard, OffsetsGoingBackwardsAreRefused) {
  patch_index(48 + 8 * 1, 8, 6);  // document 0 would end past document 1's end
  const std::string message = error();
  EXPECT_TRUE(Contains(message, index().string()));
  EXPECT_TRUE(Contains(message, "offset"));
}

}  // namespace
}  // namespace lmf::data
