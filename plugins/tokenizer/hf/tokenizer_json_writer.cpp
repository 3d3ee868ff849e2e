#include "tokenizer_json_writer.h"

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

namespace lmf::tokenizers::hf {
namespace {

using OrderedJson = nlohmann::ordered_json;

std::string quoted(const std::string& text) {
  return OrderedJson(text).dump();
}

int32_t id_of_special(const TrainedBpe& bpe, const std::string& token) {
  for (size_t id = 0; id < bpe.special_count; ++id)
    if (bpe.tokens[id] == token) return static_cast<int32_t>(id);
  throw std::logic_error("\"" + token + "\" is not one of the trained special tokens");
}

OrderedJson added_token(const TrainedBpe& bpe, size_t id) {
  return {{"id", id},        {"content", bpe.tokens[id]}, {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false},       {"special", true}};
}

OrderedJson byte_level(bool add_prefix_space) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", true},
          {"use_regex", true}};
}

// [bos] $A [eos] for one sequence, and the same around $B (type id 1) for a pair, as
// transformers writes for Llama.
OrderedJson post_processor(const TrainedBpe& bpe, const SpecialTokenRoles& roles) {
  if (!roles.add_bos && !roles.add_eos) return byte_level(false);
  OrderedJson specials = OrderedJson::object();
  auto special = [&](const std::string& token, int type_id) {
    specials[token] = {{"id", token}, {"ids", {id_of_special(bpe, token)}}, {"tokens", {token}}};
    return OrderedJson{{"SpecialToken", {{"id", token}, {"type_id", type_id}}}};
  };
  auto sequence = [&](const char* name, int type_id) {
    OrderedJson items = OrderedJson::array();
    if (roles.add_bos) items.push_back(special(*roles.bos, type_id));
    items.push_back({{"Sequence", {{"id", name}, {"type_id", type_id}}}});
    if (roles.add_eos) items.push_back(special(*roles.eos, type_id));
    return items;
  };
  OrderedJson single = sequence("A", 0);
  OrderedJson pair = single;
  for (OrderedJson& item : sequence("B", 1)) pair.push_back(std::move(item));
  return {{"type", "TemplateProcessing"},
          {"single", single},
          {"pair", pair},
          {"special_tokens", specials}};
}

}  // namespace

std::string render_tokenizer_json(const TrainedBpe& bpe, const SpecialTokenRoles& roles) {
  OrderedJson added = OrderedJson::array();
  for (size_t id = 0; id < bpe.special_count; ++id) added.push_back(added_token(bpe, id));

  // The small parts through the JSON library; the vocabulary and merges, which are most of
  // the file, one entry per line.
  std::string out = "{\n";
  out += "  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n";
  out += "  \"added_tokens\": [";
  for (size_t i = 0; i < added.size(); ++i)
    out += std::string(i == 0 ? "\n" : ",\n") + "    " + added[i].dump();
  out += added.empty() ? "],\n" : "\n  ],\n";
  out += "  \"normalizer\": null,\n";
  out += "  \"pre_tokenizer\": " + byte_level(false).dump() + ",\n";
  out += "  \"post_processor\": " + post_processor(bpe, roles).dump() + ",\n";
  out += "  \"decoder\": " + byte_level(true).dump() + ",\n";
  out +=
      "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
      "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
      "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n";
  out += "    \"vocab\": {";
  for (size_t id = 0; id < bpe.tokens.size(); ++id)
    out += std::string(id == 0 ? "\n" : ",\n") + "      " + quoted(bpe.tokens[id]) + ": " +
           std::to_string(id);
  out += bpe.tokens.empty() ? "},\n" : "\n    },\n";
  out += "    \"merges\": [";
  for (size_t i = 0; i < bpe.merges.size(); ++i) {
    const auto& [left, right] = bpe.merges[i];
    out += std::string(i == 0 ? "\n" : ",\n") + "      [" + quoted(bpe.tokens[left]) + ", " +
           quoted(bpe.tokens[right]) + "]";
  }
  out += bpe.merges.empty() ? "]\n" : "\n    ]\n";
  out += "  }\n}\n";
  return out;
}

std::string render_tokenizer_config(const TrainedBpe& bpe, const SpecialTokenRoles& roles) {
  OrderedJson config = {{"tokenizer_class", "PreTrainedTokenizerFast"}};
  const std::pair<const char*, const std::optional<std::string>*> named[] = {
      {"bos_token", &roles.bos},
      {"eos_token", &roles.eos},
      {"pad_token", &roles.pad},
      {"unk_token", &roles.unk}};
  for (const auto& [key, token] : named)
    if (*token) config[key] = **token;
  config["clean_up_tokenization_spaces"] = false;
  OrderedJson decoder = OrderedJson::object();
  for (size_t id = 0; id < bpe.special_count; ++id) {
    OrderedJson entry = added_token(bpe, id);
    entry.erase("id");
    decoder[std::to_string(id)] = entry;
  }
  config["added_tokens_decoder"] = decoder;
  return config.dump(2) + "\n";
}

void write_file_atomically(const std::filesystem::path& file, const std::string& text) {
  const std::filesystem::path partial = file.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out)
      lmf::sdk::fail(LMF_ERR_IO, "cannot write " + file.string() + ": " + std::strerror(errno));
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) {
      const std::string reason = std::strerror(errno);
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);
      lmf::sdk::fail(LMF_ERR_IO, "writing " + file.string() + " failed: " + reason);
    }
  }
  std::error_code error;
  std::filesystem::rename(partial, file, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    lmf::sdk::fail(LMF_ERR_IO, "cannot write " + file.string() + ": " + error.message());
  }
}

}  // namespace lmf::tokenizers::hf
