// What the training tests share: the hf tokenizer plugin loaded as the host loads it, an
// instance driven through its C vtable, the texts handed to train, and reading a
// tokenizer.json's vocabulary and merges back.
#pragma once

#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/registry.h"
#include "core/plugin/status.h"
#include "tests/support/recording_services.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#ifndef LMF_TOKENIZER_HF_PLUGIN
#error "LMF_TOKENIZER_HF_PLUGIN must name the hf tokenizer plugin's file"
#endif

namespace lmf::tokenizer_train_test {

namespace fs = std::filesystem;
using nlohmann::json;

inline const fs::path kTrainFixtures = fs::path(LMF_TEST_FIXTURES_DIR) / "tokenizers" / "train";

inline std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The lines of a file with their line endings, as Hugging Face's train(files) reads it.
inline std::vector<std::string> lines_with_endings(const fs::path& file) {
  const std::string text = read_file(file);
  std::vector<std::string> lines;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find('\n', start);
    const size_t stop = end == std::string::npos ? text.size() : end + 1;
    lines.push_back(text.substr(start, stop - start));
    start = stop;
  }
  return lines;
}

// Texts handed to train one at a time; on_text(i), when set, runs before text i goes out.
class TextList {
 public:
  explicit TextList(std::vector<std::string> texts) : texts_(std::move(texts)) {}
  lmf_text_stream* stream() { return &stream_; }
  size_t handed() const { return next_; }
  std::function<void(size_t)> on_text;

 private:
  static int32_t next(void* user, lmf_str_view* text) {
    auto* self = static_cast<TextList*>(user);
    if (self->next_ == self->texts_.size()) return 0;
    if (self->on_text) self->on_text(self->next_);
    const std::string& t = self->texts_[self->next_++];
    *text = {t.data(), t.size()};
    return 1;
  }
  std::vector<std::string> texts_;
  size_t next_ = 0;
  lmf_text_stream stream_{this, &TextList::next};
};

// The plugin, loaded once per process, with services that record progress and let a test
// set the cancellation flag.
struct LoadedPlugin {
  testing::RecordingServices services;
  plugin::PluginRegistry registry{services};
  std::optional<plugin::ComponentRef> hf;
  LoadedPlugin() {
    registry.load_file(LMF_TOKENIZER_HF_PLUGIN);
    hf = registry.require(LMF_KIND_TOKENIZER, "hf");
  }
};
inline LoadedPlugin& loaded_plugin() {
  static LoadedPlugin loaded;
  return loaded;
}

// A call's status, taken over and released.
struct Outcome {
  lmf_status_code code = LMF_OK;
  std::string message;
  bool ok() const { return code == LMF_OK; }
};
inline Outcome take(lmf_status_t* status) {
  if (status == nullptr) return {};
  const lmf_host_api* api = plugin::host_api();
  Outcome outcome{api->status_code(status), api->status_message(status)};
  api->status_release(status);
  return outcome;
}

// An hf instance made as the host makes it (config checked against the schema).
class HfInstance {
 public:
  explicit HfInstance(json config = json::object()) {
    const plugin::ComponentRef& ref = *loaded_plugin().hf;
    const auto issues = config::validate(json::parse(ref.schema()), config);
    if (!issues.empty()) throw std::runtime_error("config refused: " + issues[0].message);
    instance_ = std::make_unique<plugin::ComponentInstance>(ref, config);
    vtable_ = &instance_->vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
  }

  Outcome train(TextList& texts, const json& options) {
    const std::string text = options.dump();
    return take(vtable_->train(instance_->get(), texts.stream(), {text.data(), text.size()}));
  }
  Outcome save(const fs::path& folder) {
    const std::string text = folder.string();
    return take(vtable_->save(instance_->get(), {text.data(), text.size()}));
  }
  std::vector<int32_t> encode(const std::string& text, uint32_t flags) {
    lmf_str_view view{text.data(), text.size()};
    lmf_token_batch batch{nullptr, nullptr, 0};
    plugin::check_status(vtable_->encode(instance_->get(), &view, 1, flags, &batch), "encode");
    std::vector<int32_t> ids(batch.ids + batch.offsets[0], batch.ids + batch.offsets[1]);
    plugin::host_api()->free(batch.ids);
    plugin::host_api()->free(batch.offsets);
    return ids;
  }
  Outcome try_encode(const std::string& text) {
    lmf_str_view view{text.data(), text.size()};
    lmf_token_batch batch{nullptr, nullptr, 0};
    return take(vtable_->encode(instance_->get(), &view, 1, 0, &batch));
  }
  std::string decode(const std::vector<int32_t>& ids, uint32_t flags) {
    lmf_string out{nullptr, 0};
    plugin::check_status(vtable_->decode(instance_->get(), ids.data(), ids.size(), flags, &out),
                         "decode");
    std::string text(out.data, out.size);
    plugin::host_api()->free(out.data);
    return text;
  }
  uint32_t vocab_size() { return vtable_->vocab_size(instance_->get()); }
  std::optional<int32_t> id_of(const std::string& token) {
    int32_t id = -1;
    if (!take(vtable_->token_to_id(instance_->get(), {token.data(), token.size()}, &id)).ok())
      return std::nullopt;
    return id;
  }

 private:
  std::unique_ptr<plugin::ComponentInstance> instance_;
  const lmf_tokenizer_vtable* vtable_ = nullptr;
};

// A tokenizer.json's model: its tokens by id, and its merges as pairs of token texts.
struct BpeFile {
  std::vector<std::string> tokens;
  std::vector<std::pair<std::string, std::string>> merges;
};
inline BpeFile read_bpe(const fs::path& file) {
  const json root = json::parse(read_file(file));
  BpeFile bpe;
  const json& vocab = root.at("model").at("vocab");
  bpe.tokens.resize(vocab.size());
  for (const auto& [token, id] : vocab.items()) bpe.tokens.at(id.get<size_t>()) = token;
  for (const json& merge : root.at("model").at("merges"))
    bpe.merges.emplace_back(merge.at(0).get<std::string>(), merge.at(1).get<std::string>());
  return bpe;
}

}  // namespace lmf::tokenizer_train_test
