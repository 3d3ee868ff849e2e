#include "tokenizer_json.h"

#include "json_reader.h"

#include <lmf/sdk/error.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

namespace lmf::tokenizers::hf {
namespace {

using lmf::sdk::fail;

std::unique_ptr<Normalizer> read_normalizer(const Reader& reader, const Json& value,
                                            const std::string& where) {
  if (value.is_null()) return nullptr;
  const std::string type = reader.type_of(value, where);
  if (type == "NFC") return make_unicode_normalizer(UnicodeForm::kNfc);
  if (type == "NFD") return make_unicode_normalizer(UnicodeForm::kNfd);
  if (type == "NFKC") return make_unicode_normalizer(UnicodeForm::kNfkc);
  if (type == "NFKD") return make_unicode_normalizer(UnicodeForm::kNfkd);
  if (type == "Lowercase") return make_lowercase_normalizer();
  if (type == "StripAccents") return make_strip_accents_normalizer();
  if (type == "Strip")
    return make_strip_normalizer(reader.boolean(value, "strip_left", where, true),
                                 reader.boolean(value, "strip_right", where, true));
  if (type == "Prepend") return make_prepend_normalizer(reader.string(value, "prepend", where));
  if (type == "Replace")
    return make_replace_normalizer(reader.pattern(value, where),
                                   reader.string(value, "content", where));
  if (type == "Sequence") {
    const std::string at = where + ".normalizers";
    const Json& list = reader.array(reader.field(value, "normalizers", where), at);
    std::vector<std::unique_ptr<Normalizer>> normalizers;
    for (size_t i = 0; i < list.size(); ++i) {
      auto normalizer = read_normalizer(reader, list[i], at + "[" + std::to_string(i) + "]");
      if (normalizer) normalizers.push_back(std::move(normalizer));
    }
    return make_sequence_normalizer(std::move(normalizers));
  }
  reader.unsupported(where + ".type", type,
                     "NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Prepend, Replace, "
                     "Sequence");
}

PrependScheme read_prepend_scheme(const Reader& reader, const Json& value,
                                  const std::string& where) {
  if (const auto found = value.find("prepend_scheme"); found != value.end() && !found->is_null()) {
    const std::string scheme = found->is_string() ? found->get<std::string>() : "";
    if (scheme == "always") return PrependScheme::kAlways;
    if (scheme == "first") return PrependScheme::kFirst;
    if (scheme == "never") return PrependScheme::kNever;
    reader.data_error(
        where + ".prepend_scheme",
        "expected \"always\", \"first\" or \"never\", got " + Reader::describe(*found));
  }
  // Files written before prepend_scheme existed say add_prefix_space.
  return reader.boolean(value, "add_prefix_space", where, true) ? PrependScheme::kAlways
                                                                : PrependScheme::kNever;
}

std::unique_ptr<PreTokenizer> read_pre_tokenizer(const Reader& reader, const Json& value,
                                                 const std::string& where) {
  if (value.is_null()) return nullptr;
  const std::string type = reader.type_of(value, where);
  if (type == "ByteLevel")
    return make_byte_level_pre_tokenizer(reader.boolean(value, "add_prefix_space", where, true),
                                         reader.boolean(value, "use_regex", where, true));
  if (type == "Split") {
    const std::string behavior = reader.string(value, "behavior", where);
    SplitBehavior parsed;
    if (behavior == "Removed")
      parsed = SplitBehavior::kRemoved;
    else if (behavior == "Isolated")
      parsed = SplitBehavior::kIsolated;
    else if (behavior == "MergedWithPrevious")
      parsed = SplitBehavior::kMergedWithPrevious;
    else if (behavior == "MergedWithNext")
      parsed = SplitBehavior::kMergedWithNext;
    else if (behavior == "Contiguous")
      parsed = SplitBehavior::kContiguous;
    else
      reader.data_error(where + ".behavior",
                        "expected Removed, Isolated, MergedWithPrevious, MergedWithNext or "
                        "Contiguous, got \"" +
                            behavior + "\"");
    return make_split_pre_tokenizer(reader.pattern(value, where), parsed,
                                    reader.boolean(value, "invert", where, false));
  }
  if (type == "Digits")
    return make_digits_pre_tokenizer(reader.boolean(value, "individual_digits", where, false));
  if (type == "Metaspace") {
    std::string replacement =
        reader.optional_string(value, "replacement", where).value_or("\u2581");
    return make_metaspace_pre_tokenizer(std::move(replacement),
                                        read_prepend_scheme(reader, value, where),
                                        reader.boolean(value, "split", where, true));
  }
  if (type == "Whitespace") return make_whitespace_pre_tokenizer();
  if (type == "WhitespaceSplit") return make_whitespace_split_pre_tokenizer();
  if (type == "Sequence") {
    const std::string at = where + ".pretokenizers";
    const Json& list = reader.array(reader.field(value, "pretokenizers", where), at);
    std::vector<std::unique_ptr<PreTokenizer>> pre_tokenizers;
    for (size_t i = 0; i < list.size(); ++i) {
      auto pre_tokenizer = read_pre_tokenizer(reader, list[i], at + "[" + std::to_string(i) + "]");
      if (pre_tokenizer) pre_tokenizers.push_back(std::move(pre_tokenizer));
    }
    return make_sequence_pre_tokenizer(std::move(pre_tokenizers));
  }
  reader.unsupported(where + ".type", type,
                     "ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit, Sequence");
}

std::unique_ptr<Decoder> read_decoder(const Reader& reader, const Json& value,
                                      const std::string& where) {
  if (value.is_null()) return nullptr;
  const std::string type = reader.type_of(value, where);
  if (type == "ByteLevel") return make_byte_level_decoder();
  if (type == "ByteFallback") return make_byte_fallback_decoder();
  if (type == "Fuse") return make_fuse_decoder();
  if (type == "Strip") {
    const int64_t start = reader.integer(value, "start", where, 0);
    const int64_t stop = reader.integer(value, "stop", where, 0);
    if (start < 0 || stop < 0) reader.data_error(where, "start and stop must not be negative");
    return make_strip_decoder(reader.string(value, "content", where), static_cast<size_t>(start),
                              static_cast<size_t>(stop));
  }
  if (type == "Replace")
    return make_replace_decoder(reader.pattern(value, where),
                                reader.string(value, "content", where));
  if (type == "Metaspace")
    return make_metaspace_decoder(
        reader.optional_string(value, "replacement", where).value_or("\u2581"),
        read_prepend_scheme(reader, value, where));
  if (type == "BPEDecoder")
    return make_bpe_decoder(reader.optional_string(value, "suffix", where).value_or("</w>"));
  if (type == "Sequence") {
    const std::string at = where + ".decoders";
    const Json& list = reader.array(reader.field(value, "decoders", where), at);
    std::vector<std::unique_ptr<Decoder>> decoders;
    for (size_t i = 0; i < list.size(); ++i) {
      auto decoder = read_decoder(reader, list[i], at + "[" + std::to_string(i) + "]");
      if (decoder) decoders.push_back(std::move(decoder));
    }
    return make_sequence_decoder(std::move(decoders));
  }
  reader.unsupported(where + ".type", type,
                     "ByteLevel, ByteFallback, Fuse, Strip, Replace, Metaspace, BPEDecoder, "
                     "Sequence");
}

// A special token of a post-processor by its text: its id from the added tokens or the
// vocabulary.
int32_t special_id(const Reader& reader, const std::string& token, const PipelineParts& parts,
                   const std::vector<std::pair<std::string, int32_t>>& vocab,
                   const std::string& where) {
  for (const AddedToken& added : parts.added_tokens)
    if (added.content == token) return added.id;
  for (const auto& [text, id] : vocab)
    if (text == token) return id;
  reader.data_error(where,
                    "the token \"" + token + "\" is neither an added token nor in model.vocab");
}

std::unique_ptr<PostProcessor> read_post_processor(
    const Reader& reader, const Json& value, const std::string& where, const PipelineParts& parts,
    const std::vector<std::pair<std::string, int32_t>>& vocab) {
  if (value.is_null()) return nullptr;
  const std::string type = reader.type_of(value, where);
  if (type == "ByteLevel") return make_identity_post_processor();
  if (type == "TemplateProcessing") {
    const std::string at = where + ".single";
    const Json& single = reader.array(reader.field(value, "single", where), at);
    const Json& specials =
        value.contains("special_tokens") ? value["special_tokens"] : Json::object();
    std::vector<TemplateItem> items;
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string item_at = at + "[" + std::to_string(i) + "]";
      const Json& item = reader.object(single[i], item_at);
      if (item.contains("Sequence")) {
        items.push_back({{}, true});
        continue;
      }
      if (!item.contains("SpecialToken"))
        reader.data_error(item_at, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      const std::string name = reader.string(item["SpecialToken"], "id", item_at + ".SpecialToken");
      const std::string special_at = where + ".special_tokens[\"" + name + "\"]";
      const auto found = specials.find(name);
      if (found == specials.end())
        reader.data_error(item_at, "the special token \"" + name + "\" is not in special_tokens");
      const Json& ids = reader.array(reader.field(*found, "ids", special_at), special_at + ".ids");
      TemplateItem special;
      for (size_t k = 0; k < ids.size(); ++k)
        special.ids.push_back(reader.id(ids[k], special_at + ".ids[" + std::to_string(k) + "]"));
      items.push_back(std::move(special));
    }
    return make_template_post_processor(std::move(items));
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    // [cls] A [sep], each given as ["token", id].
    auto pair = [&](const char* key) {
      const std::string at = where + "." + key;
      const Json& entry = reader.array(reader.field(value, key, where), at);
      if (entry.size() != 2 || !entry[0].is_string())
        reader.data_error(at, "expected [\"token\", id], got " + Reader::describe(entry));
      return reader.id(entry[1], at + "[1]");
    };
    const int32_t cls = pair("cls");
    const int32_t sep = pair("sep");
    std::vector<TemplateItem> items;
    items.push_back({{cls}, false});
    items.push_back({{}, true});
    items.push_back({{sep}, false});
    return make_template_post_processor(std::move(items));
  }
  if (type == "Sequence") {
    const std::string at = where + ".processors";
    const Json& list = reader.array(reader.field(value, "processors", where), at);
    std::vector<std::unique_ptr<PostProcessor>> processors;
    for (size_t i = 0; i < list.size(); ++i) {
      auto processor =
          read_post_processor(reader, list[i], at + "[" + std::to_string(i) + "]", parts, vocab);
      if (processor) processors.push_back(std::move(processor));
    }
    return make_sequence_post_processor(std::move(processors));
  }
  reader.unsupported(where + ".type", type,
                     "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence");
}

std::unique_ptr<BpeModel> read_model(const Reader& reader, const Json& root,
                                     std::vector<std::pair<std::string, int32_t>>& vocab) {
  const Json& model = reader.object(reader.field(root, "model", "(top level)"), "model");
  std::string type;
  if (const auto found = model.find("type"); found != model.end() && found->is_string())
    type = found->get<std::string>();
  else if (model.contains("merges"))
    type = "BPE";  // files older than the "type" field
  else
    reader.data_error("model", "missing field \"type\"");
  if (type != "BPE") reader.unsupported("model.type", type, "BPE");

  if (const auto dropout = model.find("dropout");
      dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0))
    reader.unsupported("model.dropout", dropout->dump(), "null or 0: encoding is deterministic");

  const Json& vocab_json = reader.object(reader.field(model, "vocab", "model"), "model.vocab");
  vocab.reserve(vocab_json.size());
  for (auto entry = vocab_json.begin(); entry != vocab_json.end(); ++entry)
    vocab.emplace_back(entry.key(),
                       reader.id(entry.value(), "model.vocab[\"" + entry.key() + "\"]"));

  const Json& merges_json = reader.array(reader.field(model, "merges", "model"), "model.merges");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_json.size());
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const Json& merge = merges_json[i];
    const std::string at = "model.merges[" + std::to_string(i) + "]";
    if (merge.is_string()) {
      // The older form "left right", split at the first space as HF does.
      const std::string& text = merge.get_ref<const std::string&>();
      const size_t space = text.find(' ');
      if (space == std::string::npos)
        reader.data_error(at, "expected \"left right\", got " + Reader::describe(merge));
      merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      reader.data_error(
          at, "expected \"left right\" or [\"left\", \"right\"], got " + Reader::describe(merge));
    }
  }

  BpeOptions options;
  options.unk_token = reader.optional_string(model, "unk_token", "model");
  options.continuing_subword_prefix =
      reader.optional_string(model, "continuing_subword_prefix", "model").value_or("");
  options.end_of_word_suffix =
      reader.optional_string(model, "end_of_word_suffix", "model").value_or("");
  options.fuse_unk = reader.boolean(model, "fuse_unk", "model", false);
  options.byte_fallback = reader.boolean(model, "byte_fallback", "model", false);
  options.ignore_merges = reader.boolean(model, "ignore_merges", "model", false);
  try {
    return std::make_unique<BpeModel>(vocab, merges, std::move(options));
  } catch (const std::invalid_argument& e) {
    reader.data_error("model", e.what());
  }
}

std::vector<AddedToken> read_added_tokens(const Reader& reader, const Json& root) {
  std::vector<AddedToken> tokens;
  const auto found = root.find("added_tokens");
  if (found == root.end() || found->is_null()) return tokens;
  const Json& list = reader.array(*found, "added_tokens");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string at = "added_tokens[" + std::to_string(i) + "]";
    const Json& entry = reader.object(list[i], at);
    AddedToken token;
    token.id = reader.id(reader.field(entry, "id", at), at + ".id");
    token.content = reader.string(entry, "content", at);
    token.special = reader.boolean(entry, "special", at, false);
    token.normalized = reader.boolean(entry, "normalized", at, !token.special);
    token.lstrip = reader.boolean(entry, "lstrip", at, false);
    token.rstrip = reader.boolean(entry, "rstrip", at, false);
    token.single_word = reader.boolean(entry, "single_word", at, false);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

// The ids HF gives added tokens when it reads the file (AddedVocabulary::add_tokens): a
// content already known (an earlier added token, or the model's vocabulary) keeps that
// id whatever the file says; a new one gets the next id after the model's vocabulary and
// the added tokens so far. For files HF wrote itself, these are the ids in the file.
void assign_added_token_ids(std::vector<AddedToken>& tokens, const BpeModel& model) {
  std::vector<AddedToken> kept;
  std::unordered_map<std::string, int32_t> ids;
  int64_t max_id = -1;
  const auto model_size = static_cast<int64_t>(model.vocab_size());
  for (AddedToken& token : tokens) {
    if (token.content.empty()) continue;
    bool duplicate = false;
    for (const AddedToken& other : kept)
      duplicate =
          duplicate || (other.content == token.content && other.special == token.special &&
                        other.normalized == token.normalized && other.lstrip == token.lstrip &&
                        other.rstrip == token.rstrip && other.single_word == token.single_word);
    if (duplicate) continue;
    int64_t id;
    if (const auto known = ids.find(token.content); known != ids.end())
      id = known->second;
    else if (const int32_t in_model = model.token_to_id(token.content); in_model >= 0)
      id = in_model;
    else if (max_id < 0)
      id = model_size;
    else
      id = (max_id >= model_size || model_size == 0) ? max_id + 1 : model_size;
    token.id = static_cast<int32_t>(id);
    ids[token.content] = token.id;
    max_id = std::max(max_id, id);
    kept.push_back(std::move(token));
  }
  tokens = std::move(kept);
}

// bos_token / eos_token of tokenizer_config.json: a string or {"content": "..."}.
std::optional<std::string> config_token(const std::filesystem::path& tokenizer_file,
                                        const char* key) {
  const std::filesystem::path config = tokenizer_file.parent_path() / "tokenizer_config.json";
  std::ifstream in(config, std::ios::binary);
  if (!in) return std::nullopt;
  const Json json = Json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return std::nullopt;
  const auto found = json.find(key);
  if (found == json.end()) return std::nullopt;
  if (found->is_string()) return found->get<std::string>();
  if (found->is_object() && found->contains("content") && (*found)["content"].is_string())
    return (*found)["content"].get<std::string>();
  return std::nullopt;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(LMF_ERR_IO, file.string() + ": cannot open the tokenizer file for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(LMF_ERR_IO, file.string() + ": reading the tokenizer file failed");
  return std::move(text).str();
}

// "line L, column C" of byte offset `at` in `text`.
std::string line_and_column(const std::string& text, size_t at) {
  at = std::min(at, text.size());
  size_t line = 1, column = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

std::filesystem::path resolve_tokenizer_file(const std::filesystem::path& path) {
  std::error_code error;
  if (path.empty()) fail(LMF_ERR_INVALID_ARGUMENT, "hf tokenizer: \"path\" is empty");
  if (std::filesystem::is_directory(path, error)) {
    const std::filesystem::path file = path / "tokenizer.json";
    if (!std::filesystem::exists(file, error))
      fail(LMF_ERR_NOT_FOUND, path.string() + ": the folder holds no tokenizer.json");
    return file;
  }
  if (!std::filesystem::exists(path, error))
    fail(LMF_ERR_NOT_FOUND, path.string() + ": no such tokenizer file");
  return path;
}

PipelineParts load_tokenizer_json(const std::filesystem::path& file, const LoadOptions& options) {
  return parse_tokenizer_json(read_file(file), file, options);
}

PipelineParts parse_tokenizer_json(const std::string& text, const std::filesystem::path& file,
                                   const LoadOptions& options) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    fail(LMF_ERR_DATA, file.string() + ": malformed JSON at " + line_and_column(text, e.byte - 1) +
                           ": " + e.what());
  }
  const Reader reader(file.string());
  reader.object(root, "(top level)");
  if (const auto version = root.find("version");
      version != root.end() && !(version->is_string() && *version == "1.0"))
    reader.data_error("version", "expected \"1.0\", got " + Reader::describe(*version));

  PipelineParts parts;
  std::vector<std::pair<std::string, int32_t>> vocab;
  parts.model = read_model(reader, root, vocab);
  parts.added_tokens = read_added_tokens(reader, root);
  assign_added_token_ids(parts.added_tokens, *parts.model);
  parts.normalizer = read_normalizer(reader, root.value("normalizer", Json()), "normalizer");
  parts.pre_tokenizer =
      read_pre_tokenizer(reader, root.value("pre_tokenizer", Json()), "pre_tokenizer");
  parts.decoder = read_decoder(reader, root.value("decoder", Json()), "decoder");
  parts.post_processor = read_post_processor(reader, root.value("post_processor", Json()),
                                             "post_processor", parts, vocab);

  if (options.add_bos_token || options.add_eos_token) {
    // transformers' LlamaTokenizerFast.update_post_processor: [bos] A [eos].
    std::vector<TemplateItem> items;
    auto add = [&](const std::optional<std::string>& configured, const char* key) {
      std::optional<std::string> token = configured ? configured : config_token(file, key);
      if (!token)
        fail(LMF_ERR_INVALID_ARGUMENT, std::string("hf tokenizer: add_") + key +
                                           " is true but no " + key + " is configured and " +
                                           (file.parent_path() / "tokenizer_config.json").string() +
                                           " names none");
      items.push_back({{special_id(reader, *token, parts, vocab, key)}, false});
    };
    if (options.add_bos_token.value_or(false)) add(options.bos_token, "bos_token");
    items.push_back({{}, true});
    if (options.add_eos_token.value_or(false)) add(options.eos_token, "eos_token");
    parts.post_processor = make_template_post_processor(std::move(items));
  }
  return parts;
}

}  // namespace lmf::tokenizers::hf
