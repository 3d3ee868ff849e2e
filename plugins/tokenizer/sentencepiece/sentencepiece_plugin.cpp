// The sentencepiece tokenizer plugin: SentencePiece .model files (Llama-2 and the models
// that share its tokenizer) through libsentencepiece, with special tokens handled as
// Hugging Face's Llama tokenizers handle them (docs/tokenizers.md).
#include "model_files.h"
#include "spm_tokenizer.h"

#include "../hf/utf8.h"

#include <lmf/sdk/tokenizer.h>

#include <memory>
#include <string>

namespace {

using lmf::sdk::fail;
using lmf::sdk::Json;
namespace spm = lmf::tokenizers::spm;
namespace hf = lmf::tokenizers::hf;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {
      "type": "string",
      "minLength": 1,
      "description": "A SentencePiece .model file, or a folder holding tokenizer.model (a Hugging Face Llama-2 model folder, whose tokenizer_config.json and special_tokens_map.json are read too)."
    },
    "add_special_tokens_default": {
      "type": "boolean",
      "default": true,
      "description": "Whether callers that do not choose (lmforge data prepare, serving) pass LMF_TOKENIZE_ADD_SPECIAL, like add_special_tokens=True in Hugging Face's encode. Each encode call's flag decides; this is the default it reads."
    },
    "add_bos_token": {
      "type": ["boolean", "null"],
      "default": null,
      "description": "Whether LMF_TOKENIZE_ADD_SPECIAL puts bos_token before the ids. null: add_bos_token of tokenizer_config.json beside the model, else true (transformers' LlamaTokenizer)."
    },
    "add_eos_token": {
      "type": ["boolean", "null"],
      "default": null,
      "description": "As add_bos_token, for eos_token after the ids; null: tokenizer_config.json, else false."
    },
    "bos_token": {
      "type": ["string", "null"],
      "default": null,
      "description": "The piece add_bos_token adds; null: bos_token of tokenizer_config.json or special_tokens_map.json, else the model's bos piece (<s> in Llama-2)."
    },
    "eos_token": {
      "type": ["string", "null"],
      "default": null,
      "description": "The piece add_eos_token adds; null: as bos_token, else the model's eos piece (</s>)."
    },
    "split_special_tokens": {
      "type": "boolean",
      "default": false,
      "description": "false (Hugging Face's default): control, unknown and user-defined pieces written in the text (\"<s>\", \"</s>\") become their ids. true: the whole text goes to SentencePiece, which encodes them as ordinary characters (spm_encode's behaviour)."
    },
    "invalid_utf8": {
      "enum": ["replace", "error"],
      "default": "replace",
      "description": "Text that is not valid UTF-8: replace each maximal invalid sequence by U+FFFD (as Python's errors='replace' before Hugging Face's encode), or fail naming the byte offset."
    }
  }
})";

// A field that may be absent or null (the schema has checked its type).
template <class T>
std::optional<T> optional_field(const Json& config, const char* key) {
  const auto found = config.find(key);
  if (found == config.end() || found->is_null()) return std::nullopt;
  return found->get<T>();
}

class SentencePieceTokenizer final : public lmf::sdk::Tokenizer {
 public:
  explicit SentencePieceTokenizer(const Json& config) {
    if (!config.contains("path") || !config["path"].is_string())
      fail(LMF_ERR_INVALID_ARGUMENT,
           "sentencepiece tokenizer: \"path\" (a SentencePiece .model file) is required");
    spm::TokenizerOptions options;
    options.add_bos_token = optional_field<bool>(config, "add_bos_token");
    options.add_eos_token = optional_field<bool>(config, "add_eos_token");
    options.bos_token = optional_field<std::string>(config, "bos_token");
    options.eos_token = optional_field<std::string>(config, "eos_token");
    options.split_special_tokens = config.value("split_special_tokens", false);
    strict_utf8_ = config.value("invalid_utf8", std::string("replace")) == "error";
    tokenizer_ = std::make_unique<spm::SpmTokenizer>(
        spm::resolve_model_file(config["path"].get<std::string>()), options);
  }

  uint32_t vocab_size() override { return tokenizer_->vocab_size(); }

  std::vector<int32_t> encode(std::string_view text, uint32_t flags) override {
    std::vector<int32_t> ids;
    const bool add_special = (flags & LMF_TOKENIZE_ADD_SPECIAL) != 0;
    const size_t valid = hf::valid_utf8_prefix(text);
    if (valid == text.size()) {
      tokenizer_->encode(text, add_special, ids);
      return ids;
    }
    // Note [Invalid UTF-8] (plugins/tokenizer/hf/utf8.h): as the hf tokenizer does.
    if (strict_utf8_)
      fail(LMF_ERR_DATA, "sentencepiece tokenizer: the text is not valid UTF-8 (byte offset " +
                             std::to_string(valid) + ")");
    std::string repaired;
    hf::append_replacing_invalid(text, repaired);
    tokenizer_->encode(repaired, add_special, ids);
    return ids;
  }

  std::string decode(std::span<const int32_t> ids, uint32_t flags) override {
    return tokenizer_->decode(ids, (flags & LMF_TOKENIZE_SKIP_SPECIAL) != 0);
  }

  std::optional<int32_t> token_to_id(std::string_view token) override {
    return tokenizer_->token_to_id(token);
  }
  std::optional<std::string> id_to_token(int32_t id) override {
    return tokenizer_->id_to_token(id);
  }

 private:
  std::unique_ptr<spm::SpmTokenizer> tokenizer_;
  bool strict_utf8_ = false;
};

}  // namespace

LMF_PLUGIN("lmforge-tokenizer-sentencepiece", "0.1.0", "lmforge",
           "SentencePiece .model files (Llama-2 style) through libsentencepiece, with special "
           "tokens as Hugging Face's Llama tokenizers handle them",
           lmf::sdk::component<SentencePieceTokenizer>(
               "sentencepiece",
               "SentencePiece .model file, encoded by libsentencepiece, special tokens as in "
               "Hugging Face",
               kConfigSchema))
