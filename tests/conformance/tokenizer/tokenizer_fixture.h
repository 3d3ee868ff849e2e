// What the tokenizer conformance suite checks a tokenizer against: a corpus of texts and,
// per subject, the ids and texts the reference implementation produced
// (tests/fixtures/tokenizers/README.md, docs/tokenizers.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::conformance::tokenizer {

// One text of the corpus, as the bytes given to encode (possibly invalid UTF-8).
struct CorpusText {
  std::string name;
  std::string bytes;
};

// Reads corpus.jsonl: {"name", "text"} | {"name", "hex"} | {"name", "repeat_corpus_bytes"}
// (the rules are in generate_expected.mjs). Throws std::runtime_error naming file and line.
std::vector<CorpusText> read_corpus(const std::filesystem::path& file);

// What the reference gave for one text. Long results are kept as count + FNV-1a hash.
struct ExpectedCase {
  std::string name;
  bool hashed = false;
  std::vector<int32_t> ids, ids_with_special;  // flags 0 and LMF_TOKENIZE_ADD_SPECIAL
  std::string decode, decode_skip_special;     // of ids_with_special, flags 0 and SKIP_SPECIAL
  // The hashed form.
  size_t ids_count = 0, ids_with_special_count = 0;
  size_t decode_bytes = 0, decode_skip_special_bytes = 0;
  std::string ids_hash, ids_with_special_hash, decode_hash, decode_skip_special_hash;
};

struct ExpectedToken {
  std::string token;
  int32_t id = -1;
  bool special = false;
};

// One <name>.expected.json.
struct Expected {
  std::string name;       // from the file name
  std::string reference;  // what produced it
  std::string component;  // the tokenizer component to create, e.g. "hf"
  std::string tokenizer;  // folder of the fetched files (.cache/tokenizers/<tokenizer>), or
  std::string fixture;    // a committed tokenizer file (relative to the fixtures)
  std::string file = "tokenizer.json";  // the file to load in the fetched folder
  std::string corpus = "corpus.jsonl";  // the texts (relative to the fixtures)
  std::string overlay;    // a variant applied on top (relative to the fixtures), or ""
  nlohmann::json config;  // config fields besides "path"
  uint32_t vocab_size = 0;
  std::vector<ExpectedToken> tokens;
  std::vector<ExpectedCase> cases;
};

Expected read_expected(const std::filesystem::path& file);

// Every *.expected.json in `folder` and in its subfolders (one level), by path.
std::vector<std::filesystem::path> expected_files(const std::filesystem::path& folder);

// The tokenizer file to load for `expected`: the fetched tokenizer.json (or the committed
// fixture), or the overlay applied to it, written under `work_dir`. Throws std::runtime_error
// saying what is missing (e.g. "run scripts/fetch-test-tokenizers.sh").
std::filesystem::path materialize_tokenizer(const Expected& expected,
                                            const std::filesystem::path& cache_dir,
                                            const std::filesystem::path& fixtures_dir,
                                            const std::filesystem::path& work_dir);

// FNV-1a 64 as 16 lowercase hex digits; of ids: over their int32 little-endian bytes.
std::string fnv1a64(std::string_view bytes);
std::string fnv1a64(const std::vector<int32_t>& ids);

}  // namespace lmf::conformance::tokenizer
