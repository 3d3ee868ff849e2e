#include "model_files.h"

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

namespace lmf::tokenizers::spm {
namespace {

using lmf::sdk::fail;
using Json = nlohmann::json;

// The JSON object in `file`, or nullopt when there is no such file.
std::optional<Json> read_json_object(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  Json json;
  try {
    json = Json::parse(text.str());
  } catch (const Json::parse_error& e) {
    // e.byte is one past the byte that could not be read, which may be a line's '\n'.
    const std::string bytes = text.str();
    const size_t at = std::min<size_t>(e.byte == 0 ? 0 : e.byte - 1, bytes.size());
    const auto line = 1 + std::count(bytes.begin(), bytes.begin() + at, '\n');
    fail(LMF_ERR_DATA,
         file.string() + ": malformed JSON at line " + std::to_string(line) + ": " + e.what());
  }
  if (!json.is_object()) fail(LMF_ERR_DATA, file.string() + ": expected a JSON object");
  return json;
}

void read_flag(const Json& json, const std::filesystem::path& file, const char* key,
               std::optional<bool>& out) {
  const auto found = json.find(key);
  if (out || found == json.end() || found->is_null()) return;
  if (!found->is_boolean())
    fail(LMF_ERR_DATA,
         file.string() + ": \"" + key + "\" must be true or false, got " + found->dump());
  out = found->get<bool>();
}

// bos_token / eos_token: a string, or an AddedToken object {"content": "..."}.
void read_token(const Json& json, const std::filesystem::path& file, const char* key,
                std::optional<std::string>& out) {
  const auto found = json.find(key);
  if (out || found == json.end() || found->is_null()) return;
  if (found->is_string()) {
    out = found->get<std::string>();
  } else if (found->is_object() && found->contains("content") && (*found)["content"].is_string()) {
    out = (*found)["content"].get<std::string>();
  } else {
    fail(LMF_ERR_DATA, file.string() + ": \"" + key +
                           "\" must be a string or an object with a \"content\" string, got " +
                           found->dump());
  }
}

}  // namespace

std::filesystem::path resolve_model_file(const std::string& path) {
  std::error_code error;
  if (path.empty()) fail(LMF_ERR_INVALID_ARGUMENT, "sentencepiece tokenizer: \"path\" is empty");
  if (std::filesystem::is_directory(path, error)) {
    const std::filesystem::path file = std::filesystem::path(path) / "tokenizer.model";
    if (!std::filesystem::exists(file, error))
      fail(LMF_ERR_NOT_FOUND, path + ": the folder holds no tokenizer.model");
    return file;
  }
  if (!std::filesystem::exists(path, error))
    fail(LMF_ERR_NOT_FOUND, path + ": no such SentencePiece model file");
  return path;
}

std::string read_model_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(LMF_ERR_IO, file.string() + ": cannot open the SentencePiece model for reading");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) fail(LMF_ERR_IO, file.string() + ": reading the SentencePiece model failed");
  return std::move(bytes).str();
}

HfTokenizerConfig read_hf_tokenizer_config(const std::filesystem::path& model_file) {
  HfTokenizerConfig config;
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const std::filesystem::path file = model_file.parent_path() / name;
    const std::optional<Json> json = read_json_object(file);
    if (!json) continue;
    read_flag(*json, file, "add_bos_token", config.add_bos_token);
    read_flag(*json, file, "add_eos_token", config.add_eos_token);
    read_token(*json, file, "bos_token", config.bos_token);
    read_token(*json, file, "eos_token", config.eos_token);
  }
  return config;
}

}  // namespace lmf::tokenizers::spm
