#include "tokenizer_client.h"

#include <lmf/sdk/host.h>

namespace lmf::torch_backend {

TokenizerClient::TokenizerClient(const std::string& component, const std::string& config_json) {
  component_ = &sdk::find_component(LMF_KIND_TOKENIZER, component);
  vtable_ = static_cast<const lmf_tokenizer_vtable*>(component_->vtable);
  sdk::check(component_->create(sdk::host_handle(), sdk::to_view(config_json), &instance_));
}

TokenizerClient::~TokenizerClient() {
  if (instance_ != nullptr) component_->destroy(instance_);
}

std::vector<int64_t> TokenizerClient::encode(std::string_view text, bool add_special_tokens) const {
  lmf_str_view view = sdk::to_view(text);
  lmf_token_batch batch{};
  sdk::check(vtable_->encode(instance_, &view, 1, add_special_tokens ? LMF_TOKENIZE_ADD_SPECIAL : 0u,
                             &batch));
  std::vector<int64_t> ids(batch.ids + batch.offsets[0], batch.ids + batch.offsets[1]);
  sdk::api().free(batch.ids);
  sdk::api().free(batch.offsets);
  return ids;
}

std::string TokenizerClient::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::vector<int32_t> narrow(ids.begin(), ids.end());
  lmf_string out{};
  sdk::check(vtable_->decode(instance_, narrow.data(), narrow.size(),
                             skip_special_tokens ? LMF_TOKENIZE_SKIP_SPECIAL : 0u, &out));
  std::string text(out.data, out.size);
  sdk::api().free(out.data);
  return text;
}

int64_t TokenizerClient::vocab_size() const { return vtable_->vocab_size(instance_); }

int64_t TokenizerClient::token_id(std::string_view token) const {
  int32_t id = -1;
  lmf_status_t* status = vtable_->token_to_id(instance_, sdk::to_view(token), &id);
  if (status != nullptr) {
    sdk::api().status_release(status);
    return -1;
  }
  return id;
}

}  // namespace lmf::torch_backend
