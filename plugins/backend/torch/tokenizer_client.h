// The model folder's tokenizer, used through the plugin ABI like any other component:
// the backend finds the `hf` tokenizer component through the host and makes an instance
// of it (no link to the tokenizer plugin's code). Needed for text prompts, stop strings
// and text datasets.
#pragma once

#include <lmf/lmf.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmf::torch_backend {

class TokenizerClient {
 public:
  // `component` names a tokenizer component; `config_json` is its config.
  TokenizerClient(const std::string& component, const std::string& config_json);
  ~TokenizerClient();
  TokenizerClient(const TokenizerClient&) = delete;
  TokenizerClient& operator=(const TokenizerClient&) = delete;

  std::vector<int64_t> encode(std::string_view text, bool add_special_tokens) const;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const;
  int64_t vocab_size() const;
  // The id of a token written as text (e.g. "<eos>"), or -1 when the vocabulary lacks it.
  int64_t token_id(std::string_view token) const;

 private:
  const lmf_component* component_ = nullptr;
  const lmf_tokenizer_vtable* vtable_ = nullptr;
  lmf_instance_t* instance_ = nullptr;
};

}  // namespace lmf::torch_backend
