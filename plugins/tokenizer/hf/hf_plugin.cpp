// The hf tokenizer plugin: Hugging Face tokenizer.json files (byte-level BPE of GPT-2,
// Llama-3, Qwen2/2.5, DeepSeek V3/R1 and their distillations), encoding and decoding
// token for token as Hugging Face tokenizers does (docs/tokenizers.md).
#include "pipeline.h"
#include "tokenizer_json.h"
#include "utf8.h"
#include "workspace.h"

#include <lmf/sdk/tokenizer.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

namespace {

using lmf::sdk::fail;
using lmf::sdk::Json;
namespace hf = lmf::tokenizers::hf;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "required": ["path"],
  "properties": {
    "path": {
      "type": "string",
      "minLength": 1,
      "description": "A tokenizer.json file, or a folder holding one (a Hugging Face model folder)."
    },
    "add_special_tokens_default": {
      "type": "boolean",
      "default": true,
      "description": "Whether callers that do not choose (lmforge data prepare, serving) pass LMF_TOKENIZE_ADD_SPECIAL, like add_special_tokens=True in Hugging Face's encode. Each encode call's flag decides; this is the default it reads."
    },
    "add_bos_token": {
      "type": ["boolean", "null"],
      "default": null,
      "description": "null: special tokens are what tokenizer.json's post_processor adds. true/false: as transformers' add_bos_token, [bos] before the ids (replaces the post_processor, with add_eos_token)."
    },
    "add_eos_token": {
      "type": ["boolean", "null"],
      "default": null,
      "description": "As add_bos_token, for [eos] after the ids."
    },
    "bos_token": {
      "type": ["string", "null"],
      "default": null,
      "description": "The token add_bos_token adds; null: bos_token of tokenizer_config.json beside tokenizer.json."
    },
    "eos_token": {
      "type": ["string", "null"],
      "default": null,
      "description": "The token add_eos_token adds; null: eos_token of tokenizer_config.json."
    },
    "invalid_utf8": {
      "enum": ["replace", "error"],
      "default": "replace",
      "description": "Text that is not valid UTF-8: replace each maximal invalid sequence by U+FFFD (as Python's errors='replace' before Hugging Face's encode), or fail naming the byte offset."
    },
    "cache_capacity": {
      "type": "integer",
      "minimum": 0,
      "maximum": 1048576,
      "default": 16384,
      "description": "Words whose BPE split is remembered, per concurrent encode call (0: no cache)."
    }
  }
})";

std::optional<bool> optional_bool(const Json& config, const char* key) {
  const auto found = config.find(key);
  if (found == config.end() || found->is_null()) return std::nullopt;
  return found->get<bool>();
}
std::optional<std::string> optional_string(const Json& config, const char* key) {
  const auto found = config.find(key);
  if (found == config.end() || found->is_null()) return std::nullopt;
  return found->get<std::string>();
}

class HfTokenizer final : public lmf::sdk::Tokenizer {
 public:
  explicit HfTokenizer(const Json& config) {
    if (!config.contains("path") || !config["path"].is_string())
      fail(LMF_ERR_INVALID_ARGUMENT, "hf tokenizer: \"path\" (a tokenizer.json file) is required");
    hf::LoadOptions options;
    options.add_bos_token = optional_bool(config, "add_bos_token");
    options.add_eos_token = optional_bool(config, "add_eos_token");
    options.bos_token = optional_string(config, "bos_token");
    options.eos_token = optional_string(config, "eos_token");
    strict_utf8_ = config.value("invalid_utf8", std::string("replace")) == "error";
    const auto cache_capacity = config.value("cache_capacity", int64_t{16384});

    const std::filesystem::path file =
        hf::resolve_tokenizer_file(config["path"].get<std::string>());
    pipeline_ = std::make_unique<hf::Pipeline>(hf::load_tokenizer_json(file, options));
    const size_t slots = std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 64);
    workspaces_ = std::make_unique<hf::WorkspacePool>(
        slots, static_cast<size_t>(std::max<int64_t>(cache_capacity, 0)));
  }

  uint32_t vocab_size() override { return pipeline_->vocab_size(); }

  std::vector<int32_t> encode(std::string_view text, uint32_t flags) override {
    std::vector<int32_t> ids;
    const bool add_special = (flags & LMF_TOKENIZE_ADD_SPECIAL) != 0;
    hf::WorkspacePool::Lease ws = workspaces_->acquire();
    const size_t valid = hf::valid_utf8_prefix(text);
    if (valid == text.size()) {
      pipeline_->encode(text, add_special, *ws, ids);
    } else {
      // Note [Invalid UTF-8]
      if (strict_utf8_)
        fail(LMF_ERR_DATA, "hf tokenizer: the text is not valid UTF-8 (byte offset " +
                               std::to_string(valid) + ")");
      std::string repaired;
      hf::append_replacing_invalid(text, repaired);
      pipeline_->encode(repaired, add_special, *ws, ids);
    }
    ws->release_large_buffers();
    return ids;
  }

  std::string decode(std::span<const int32_t> ids, uint32_t flags) override {
    return pipeline_->decode(ids, (flags & LMF_TOKENIZE_SKIP_SPECIAL) != 0);
  }

  std::optional<int32_t> token_to_id(std::string_view token) override {
    return pipeline_->token_to_id(token);
  }
  std::optional<std::string> id_to_token(int32_t id) override { return pipeline_->id_to_token(id); }

 private:
  std::unique_ptr<hf::Pipeline> pipeline_;
  std::unique_ptr<hf::WorkspacePool> workspaces_;
  bool strict_utf8_ = false;
};

}  // namespace

LMF_PLUGIN("lmforge-tokenizer-hf", "0.1.0", "lmforge",
           "Hugging Face tokenizer.json (byte-level BPE: GPT-2, Llama-3, Qwen2, DeepSeek), "
           "token for token as Hugging Face tokenizers",
           lmf::sdk::component<HfTokenizer>(
               "hf", "Hugging Face tokenizer.json, encoded and decoded as HF tokenizers does",
               kConfigSchema))
