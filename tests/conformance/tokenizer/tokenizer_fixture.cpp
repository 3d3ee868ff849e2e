#include "tests/conformance/tokenizer/tokenizer_fixture.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lmf::conformance::tokenizer {
namespace {

using nlohmann::json;

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

std::string from_hex(const std::string& hex, const std::string& where) {
  if (hex.size() % 2 != 0) throw std::runtime_error(where + ": \"hex\" has an odd length");
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    if (std::sscanf(hex.c_str() + i, "%2x", &value) != 1)
      throw std::runtime_error(where + ": \"hex\" is not hexadecimal at " + std::to_string(i));
    bytes.push_back(static_cast<char>(value));
  }
  return bytes;
}

std::vector<int32_t> ids_of(const json& value) {
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const json& id : value) ids.push_back(id.get<int32_t>());
  return ids;
}

}  // namespace

std::vector<CorpusText> read_corpus(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open the corpus");
  std::vector<CorpusText> corpus;
  std::vector<bool> is_text;
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = file.string() + ":" + std::to_string(number);
    json entry;
    try {
      entry = json::parse(line);
    } catch (const json::parse_error& e) {
      throw std::runtime_error(where + ": " + e.what());
    }
    CorpusText text{entry.value("name", "line " + std::to_string(number)), {}};
    bool plain = false;
    if (entry.contains("text")) {
      text.bytes = entry["text"].get<std::string>();
      plain = true;
    } else if (entry.contains("hex")) {
      text.bytes = from_hex(entry["hex"].get<std::string>(), where);
    } else if (entry.contains("repeat_corpus_bytes")) {
      // Every "text" entry so far, joined by " ".
      std::string unit;
      bool first = true;
      for (size_t i = 0; i < corpus.size(); ++i) {
        if (!is_text[i]) continue;
        if (!first) unit += ' ';
        unit += corpus[i].bytes;
        first = false;
      }
      const auto size = entry["repeat_corpus_bytes"].get<size_t>();
      while (text.bytes.size() < size) {
        if (!text.bytes.empty()) text.bytes += ' ';
        text.bytes += unit;
      }
    } else {
      throw std::runtime_error(where + ": needs \"text\", \"hex\" or \"repeat_corpus_bytes\"");
    }
    corpus.push_back(std::move(text));
    is_text.push_back(plain);
  }
  return corpus;
}

Expected read_expected(const std::filesystem::path& file) {
  json root;
  try {
    root = json::parse(read_text(file));
  } catch (const json::parse_error& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  Expected out;
  std::string name = file.filename().string();
  out.name = name.substr(0, name.find(".expected.json"));
  out.reference = root.value("reference", "");
  const json& subject = root.at("subject");
  out.component = subject.at("component").get<std::string>();
  if (subject.contains("tokenizer") && subject["tokenizer"].is_string())
    out.tokenizer = subject["tokenizer"].get<std::string>();
  if (subject.contains("fixture") && subject["fixture"].is_string())
    out.fixture = subject["fixture"].get<std::string>();
  if (out.tokenizer.empty() == out.fixture.empty())
    throw std::runtime_error(file.string() +
                             ": subject needs one of \"tokenizer\" and \"fixture\"");
  if (subject.contains("overlay") && subject["overlay"].is_string())
    out.overlay = subject["overlay"].get<std::string>();
  if (subject.contains("file") && subject["file"].is_string())
    out.file = subject["file"].get<std::string>();
  if (subject.contains("corpus") && subject["corpus"].is_string())
    out.corpus = subject["corpus"].get<std::string>();
  out.config = subject.value("config", json::object());
  out.vocab_size = root.at("vocab_size").get<uint32_t>();
  for (const json& token : root.at("tokens")) {
    if (token.at("id").is_null()) continue;
    out.tokens.push_back({token.at("token").get<std::string>(), token.at("id").get<int32_t>(),
                          token.value("special", false)});
  }
  for (const json& entry : root.at("cases")) {
    ExpectedCase c;
    c.name = entry.at("name").get<std::string>();
    if (entry.contains("ids")) {
      c.ids = ids_of(entry["ids"]);
      c.ids_with_special = ids_of(entry.at("ids_with_special"));
      c.decode = entry.at("decode").get<std::string>();
      c.decode_skip_special = entry.at("decode_skip_special").get<std::string>();
    } else {
      // [ids count, hash, ids_with_special count, hash, decode bytes, hash,
      //  decode_skip_special bytes, hash]
      const json& hashed = entry.at("hashed");
      if (!hashed.is_array() || hashed.size() != 8)
        throw std::runtime_error(file.string() + ": case \"" + c.name +
                                 "\": \"hashed\" must hold 8 items");
      c.hashed = true;
      c.ids_count = hashed[0].get<size_t>();
      c.ids_hash = hashed[1].get<std::string>();
      c.ids_with_special_count = hashed[2].get<size_t>();
      c.ids_with_special_hash = hashed[3].get<std::string>();
      c.decode_bytes = hashed[4].get<size_t>();
      c.decode_hash = hashed[5].get<std::string>();
      c.decode_skip_special_bytes = hashed[6].get<size_t>();
      c.decode_skip_special_hash = hashed[7].get<std::string>();
    }
    out.cases.push_back(std::move(c));
  }
  return out;
}

std::vector<std::filesystem::path> expected_files(const std::filesystem::path& folder) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  auto add_from = [&files, &error](const std::filesystem::path& dir) {
    for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 14 && name.ends_with(".expected.json")) files.push_back(entry.path());
    }
  };
  add_from(folder);
  // Subjects of other tokenizer components keep their files in a folder of their own
  // (sentencepiece/).
  for (const auto& entry : std::filesystem::directory_iterator(folder, error))
    if (entry.is_directory()) add_from(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::filesystem::path materialize_tokenizer(const Expected& expected,
                                            const std::filesystem::path& cache_dir,
                                            const std::filesystem::path& fixtures_dir,
                                            const std::filesystem::path& work_dir) {
  const std::filesystem::path base = expected.fixture.empty()
                                         ? cache_dir / expected.tokenizer / expected.file
                                         : fixtures_dir / expected.fixture;
  if (!std::filesystem::exists(base))
    throw std::runtime_error(base.string() +
                             " is missing: run bash scripts/fetch-test-tokenizers.sh (or set "
                             "LMF_TOKENIZER_CACHE to where the fetched tokenizers are)");
  if (expected.overlay.empty()) return base;

  const json overlay = json::parse(read_text(fixtures_dir / expected.overlay));
  json merged = json::parse(read_text(base));
  const json replace = overlay.value("replace", json::object());
  for (const auto& [key, value] : replace.items()) merged[key] = value;
  if (!merged.contains("added_tokens") || !merged["added_tokens"].is_array())
    merged["added_tokens"] = json::array();
  const json appended = overlay.value("append_added_tokens", json::array());
  for (const json& token : appended) merged["added_tokens"].push_back(token);
  const json model_options = overlay.value("model_options", json::object());
  for (const auto& [key, value] : model_options.items()) merged["model"][key] = value;

  const std::filesystem::path folder = work_dir / expected.name;
  std::filesystem::create_directories(folder);
  const std::filesystem::path file = folder / "tokenizer.json";
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << merged.dump();
  if (!out) throw std::runtime_error(file.string() + ": cannot write the variant tokenizer");
  return file;
}

std::string fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string fnv1a64(const std::vector<int32_t>& ids) {
  std::string bytes;
  bytes.reserve(ids.size() * 4);
  for (const int32_t id : ids) {
    const auto value = static_cast<uint32_t>(id);
    for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<char>(value >> shift));
  }
  return fnv1a64(bytes);
}

}  // namespace lmf::conformance::tokenizer
