// The files of a SentencePiece tokenizer: the .model, and the Hugging Face configuration
// written beside it in a model folder (Llama-2's layout).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace lmf::tokenizers::spm {

// `path` itself when it is a file; `path`/tokenizer.model when it is a folder.
// NOT_FOUND naming the path when there is no such file.
std::filesystem::path resolve_model_file(const std::string& path);

// The bytes of the model file (IO naming the file when it cannot be read).
std::string read_model_file(const std::filesystem::path& file);

// What transformers reads from tokenizer_config.json, and from special_tokens_map.json
// for what the former leaves out: each field unset when neither file says it.
struct HfTokenizerConfig {
  std::optional<bool> add_bos_token, add_eos_token;
  std::optional<std::string> bos_token, eos_token;
};

// Reads the files beside `model_file`; a missing file says nothing, a malformed one is a
// DATA error naming it (and the field, for a field of the wrong type).
HfTokenizerConfig read_hf_tokenizer_config(const std::filesystem::path& model_file);

}  // namespace lmf::tokenizers::spm
