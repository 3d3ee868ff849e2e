// Reads a Hugging Face tokenizer.json into a Pipeline. Errors are lmf::sdk::Error with a
// message that starts with the file's path and names the JSON field at fault:
//   NOT_FOUND    the file (or a tokenizer.json in the given folder) does not exist
//   IO           it cannot be read
//   DATA         it is not JSON, or a field has the wrong type or value
//   UNSUPPORTED  a model, normalizer, pre-tokenizer, post-processor or decoder type that
//                this plugin does not implement (named, with the supported ones)
#pragma once

#include "pipeline.h"

#include <filesystem>
#include <optional>
#include <string>

namespace lmf::tokenizers::hf {

// What the component's config may change on top of the file (hf_plugin.cpp's schema).
struct LoadOptions {
  // When set, special tokens are what transformers' add_bos_token/add_eos_token make
  // them: [bos] ids [eos], replacing the file's post-processor.
  std::optional<bool> add_bos_token, add_eos_token;
  // The tokens they add; by default from tokenizer_config.json beside tokenizer.json.
  std::optional<std::string> bos_token, eos_token;
};

// `path`: a tokenizer.json file, or a folder holding one. Returns the file actually read.
std::filesystem::path resolve_tokenizer_file(const std::filesystem::path& path);

PipelineParts load_tokenizer_json(const std::filesystem::path& file, const LoadOptions& options);

// The same from the file's text already in memory (a tokenizer just trained); `file` names
// it in messages, and tokenizer_config.json is looked for beside it.
PipelineParts parse_tokenizer_json(const std::string& text, const std::filesystem::path& file,
                                   const LoadOptions& options);

}  // namespace lmf::tokenizers::hf
