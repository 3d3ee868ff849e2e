// The hf tokenizer plugin: Hugging Face tokenizer.json files (byte-level BPE of GPT-2,
// Llama-3, Qwen2/2.5, DeepSeek V3/R1 and their distillations), encoding and decoding
// token for token as Hugging Face tokenizers does, and training new byte-level BPE
// vocabularies as its BpeTrainer does (docs/tokenizers.md).
#include "pipeline.h"
#include "tokenizer_json.h"
#include "tokenizer_json_writer.h"
#include "train_tokenizer.h"
#include "utf8.h"
#include "workspace.h"

#include <lmf/sdk/host.h>
#include <lmf/sdk/tokenizer.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

namespace {

using lmf::sdk::fail;
using lmf::sdk::Json;
namespace hf = lmf::tokenizers::hf;

constexpr const char* kConfigSchema = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "path": {
      "type": "string",
      "minLength": 1,
      "description": "A tokenizer.json file, or a folder holding one (a Hugging Face model folder). Without it the instance has no vocabulary until it is trained (lmforge tokenizer train)."
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
    if (config.contains("path") && !config["path"].is_string())
      fail(LMF_ERR_INVALID_ARGUMENT, "hf tokenizer: \"path\" must be a tokenizer.json file");
    hf::LoadOptions options;
    options.add_bos_token = optional_bool(config, "add_bos_token");
    options.add_eos_token = optional_bool(config, "add_eos_token");
    options.bos_token = optional_string(config, "bos_token");
    options.eos_token = optional_string(config, "eos_token");
    strict_utf8_ = config.value("invalid_utf8", std::string("replace")) == "error";
    cache_capacity_ =
        static_cast<size_t>(std::max<int64_t>(config.value("cache_capacity", int64_t{16384}), 0));

    if (config.contains("path")) {
      source_file_ = hf::resolve_tokenizer_file(config["path"].get<std::string>());
      pipeline_ = std::make_unique<hf::Pipeline>(hf::load_tokenizer_json(source_file_, options));
    }
    workspaces_ = new_workspaces();
  }

  uint32_t vocab_size() override { return pipeline_ ? pipeline_->vocab_size() : 0; }

  std::vector<int32_t> encode(std::string_view text, uint32_t flags) override {
    const hf::Pipeline& pipeline = loaded();
    std::vector<int32_t> ids;
    const bool add_special = (flags & LMF_TOKENIZE_ADD_SPECIAL) != 0;
    hf::WorkspacePool::Lease ws = workspaces_->acquire();
    const size_t valid = hf::valid_utf8_prefix(text);
    if (valid == text.size()) {
      pipeline.encode(text, add_special, *ws, ids);
    } else {
      // Note [Invalid UTF-8]
      if (strict_utf8_)
        fail(LMF_ERR_DATA, "hf tokenizer: the text is not valid UTF-8 (byte offset " +
                               std::to_string(valid) + ")");
      std::string repaired;
      hf::append_replacing_invalid(text, repaired);
      pipeline.encode(repaired, add_special, *ws, ids);
    }
    ws->release_large_buffers();
    return ids;
  }

  std::string decode(std::span<const int32_t> ids, uint32_t flags) override {
    return loaded().decode(ids, (flags & LMF_TOKENIZE_SKIP_SPECIAL) != 0);
  }

  std::optional<int32_t> token_to_id(std::string_view token) override {
    return loaded().token_to_id(token);
  }
  std::optional<std::string> id_to_token(int32_t id) override { return loaded().id_to_token(id); }

  // Replaces the vocabulary with one learned from `corpus` (train_options.h).
  void train(lmf::sdk::TextStream& corpus, const Json& options) override {
    const hf::TrainOptions parsed = hf::parse_train_options(options);
    hf::TrainedTokenizer trained = hf::train_tokenizer(corpus, parsed);
    // Loaded back through the reader every tokenizer.json goes through, so this instance
    // encodes exactly as the files it saves will.
    pipeline_ = std::make_unique<hf::Pipeline>(
        hf::parse_tokenizer_json(trained.tokenizer_json, "(trained tokenizer.json)", {}));
    workspaces_ = new_workspaces();  // their word caches hold the old vocabulary's ids
    source_file_.clear();
    trained_ = std::move(trained);
    lmf::sdk::log_info("hf tokenizer: trained " + std::to_string(trained_->tokens) + " tokens (" +
                       std::to_string(trained_->merges) + " merges) from " +
                       std::to_string(trained_->words) + " distinct words in " +
                       std::to_string(trained_->texts) + " texts");
    if (!trained_->shortfall.empty()) lmf::sdk::log_warning("hf tokenizer: " + trained_->shortfall);
  }

  // tokenizer.json and tokenizer_config.json: the trained ones, or copies of the files
  // this instance was loaded from.
  void save(const std::string& directory) override {
    loaded();
    const std::filesystem::path folder = directory;
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error || !std::filesystem::is_directory(folder))
      fail(LMF_ERR_IO, "hf tokenizer: cannot create the folder " + folder.string() + ": " +
                           (error ? error.message() : "a file of that name exists"));
    if (trained_) {
      hf::write_file_atomically(folder / "tokenizer.json", trained_->tokenizer_json);
      hf::write_file_atomically(folder / "tokenizer_config.json", trained_->tokenizer_config);
      return;
    }
    for (const std::filesystem::path& file :
         {source_file_, source_file_.parent_path() / "tokenizer_config.json"}) {
      if (!std::filesystem::exists(file)) continue;
      const std::filesystem::path target =
          folder / (file == source_file_ ? "tokenizer.json" : "tokenizer_config.json");
      if (std::filesystem::equivalent(file, target, error)) continue;
      std::filesystem::copy_file(file, target, std::filesystem::copy_options::overwrite_existing,
                                 error);
      if (error)
        fail(LMF_ERR_IO, "hf tokenizer: cannot copy " + file.string() + " to " + target.string() +
                             ": " + error.message());
    }
  }

 private:
  std::unique_ptr<hf::WorkspacePool> new_workspaces() const {
    const size_t slots = std::clamp<size_t>(std::thread::hardware_concurrency(), 2, 64);
    return std::make_unique<hf::WorkspacePool>(slots, cache_capacity_);
  }
  const hf::Pipeline& loaded() const {
    if (!pipeline_)
      fail(LMF_ERR_INVALID_ARGUMENT,
           "hf tokenizer: no vocabulary yet: give \"path\" (a tokenizer.json) or train it first");
    return *pipeline_;
  }

  std::filesystem::path source_file_;  // empty when trained, or before anything is loaded
  std::optional<hf::TrainedTokenizer> trained_;
  std::unique_ptr<hf::Pipeline> pipeline_;
  std::unique_ptr<hf::WorkspacePool> workspaces_;
  size_t cache_capacity_ = 0;
  bool strict_utf8_ = false;
};

}  // namespace

LMF_PLUGIN("lmforge-tokenizer-hf", "0.1.0", "lmforge",
           "Hugging Face tokenizer.json (byte-level BPE: GPT-2, Llama-3, Qwen2, DeepSeek), "
           "token for token as Hugging Face tokenizers",
           lmf::sdk::component<HfTokenizer>(
               "hf", "Hugging Face tokenizer.json, encoded and decoded as HF tokenizers does",
               kConfigSchema))
