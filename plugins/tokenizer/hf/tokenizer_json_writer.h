// Writes a trained byte-level BPE as Hugging Face files: tokenizer.json (what HF
// tokenizers and this plugin load) and tokenizer_config.json (what transformers'
// AutoTokenizer reads for its bos/eos/pad/unk tokens).
#pragma once

#include "bpe_trainer.h"

#include <filesystem>
#include <optional>
#include <string>

namespace lmf::tokenizers::hf {

// Which special tokens play which role, and what encode adds with special tokens on.
struct SpecialTokenRoles {
  std::optional<std::string> bos, eos, pad, unk;
  bool add_bos = false;  // [bos] before the ids (a TemplateProcessing post-processor)
  bool add_eos = false;  // [eos] after them
};

// tokenizer.json: the BPE model (vocab by id, merges as ["left", "right"]), the special
// tokens as added tokens (special, not normalized), the ByteLevel pre-tokenizer
// (add_prefix_space false, use_regex true) and decoder, and the post-processor the roles
// ask for. One vocabulary entry and one merge per line. Roles must name special tokens.
std::string render_tokenizer_json(const TrainedBpe& bpe, const SpecialTokenRoles& roles);

// tokenizer_config.json for transformers' PreTrainedTokenizerFast.
std::string render_tokenizer_config(const TrainedBpe& bpe, const SpecialTokenRoles& roles);

// Writes `text` to `file` through a temporary file and a rename, so that a reader never
// sees half a file. Throws lmf::sdk::Error(LMF_ERR_IO) naming the file and the reason.
void write_file_atomically(const std::filesystem::path& file, const std::string& text);

}  // namespace lmf::tokenizers::hf
