// lmforge SDK — the tokenizer kind.
#pragma once

#include <lmf/sdk/component.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lmf::sdk {

// The training corpus as the host streams it.
class TextStream {
 public:
  explicit TextStream(lmf_text_stream& stream) : stream_(stream) {}
  // The next text (valid until the next call), or nullopt at the end.
  std::optional<std::string_view> next() {
    lmf_str_view text{nullptr, 0};
    if (stream_.next(stream_.user, &text) == 0) return std::nullopt;
    return from_view(text);
  }

 private:
  lmf_text_stream& stream_;
};

class Tokenizer : public Component {
 public:
  using base_type = Tokenizer;

  virtual uint32_t vocab_size() = 0;
  virtual std::vector<int32_t> encode(std::string_view text, uint32_t flags) = 0;
  virtual std::string decode(std::span<const int32_t> ids, uint32_t flags) = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) = 0;
  virtual std::optional<std::string> id_to_token(int32_t id) = 0;
  virtual void train(TextStream& corpus, const Json& options) {
    (void)corpus, (void)options;
    unsupported("training a vocabulary");
  }
  virtual void save(const std::string& directory) {
    (void)directory;
    unsupported("saving");
  }
};

template <>
struct KindTraits<Tokenizer> {
  static constexpr lmf_kind kind = LMF_KIND_TOKENIZER;
  static Tokenizer* self(lmf_instance_t* instance) { return detail::self<Tokenizer>(instance); }

  static uint32_t vocab_size(lmf_instance_t* t) noexcept {
    try {
      return self(t)->vocab_size();
    } catch (...) {
      return 0;
    }
  }
  static lmf_status_t* encode(lmf_instance_t* t, const lmf_str_view* texts, size_t count,
                              uint32_t flags, lmf_token_batch* out) noexcept {
    return guard([&] {
      std::vector<std::vector<int32_t>> encoded;
      encoded.reserve(count);
      size_t total = 0;
      for (size_t i = 0; i < count; ++i) {
        encoded.push_back(self(t)->encode(from_view(texts[i]), flags));
        total += encoded.back().size();
      }
      auto* ids =
          static_cast<int32_t*>(api().alloc(std::max<size_t>(total, 1) * sizeof(int32_t), 0));
      auto* offsets = static_cast<size_t*>(api().alloc((count + 1) * sizeof(size_t), 0));
      if (ids == nullptr || offsets == nullptr) {
        api().free(ids);
        api().free(offsets);
        throw std::bad_alloc();
      }
      size_t at = 0;
      for (size_t i = 0; i < count; ++i) {
        offsets[i] = at;
        std::copy(encoded[i].begin(), encoded[i].end(), ids + at);
        at += encoded[i].size();
      }
      offsets[count] = at;
      *out = lmf_token_batch{ids, offsets, count};
    });
  }
  static lmf_status_t* decode(lmf_instance_t* t, const int32_t* ids, size_t count, uint32_t flags,
                              lmf_string* out) noexcept {
    return guard([&] {
      *out = to_owned_string(self(t)->decode(std::span<const int32_t>(ids, count), flags));
    });
  }
  static lmf_status_t* token_to_id(lmf_instance_t* t, lmf_str_view token, int32_t* out) noexcept {
    return guard([&] {
      std::optional<int32_t> id = self(t)->token_to_id(from_view(token));
      if (!id) fail(LMF_ERR_NOT_FOUND, "no token \"" + std::string(from_view(token)) + "\"");
      *out = *id;
    });
  }
  static lmf_status_t* id_to_token(lmf_instance_t* t, int32_t id, lmf_string* out) noexcept {
    return guard([&] {
      std::optional<std::string> token = self(t)->id_to_token(id);
      if (!token) fail(LMF_ERR_NOT_FOUND, "no token with id " + std::to_string(id));
      *out = to_owned_string(*token);
    });
  }
  static lmf_status_t* train(lmf_instance_t* t, lmf_text_stream* corpus,
                             lmf_str_view options_json) noexcept {
    return guard([&] {
      TextStream stream(*corpus);
      self(t)->train(stream, detail::parse_config(options_json));
    });
  }
  static lmf_status_t* save(lmf_instance_t* t, lmf_str_view directory) noexcept {
    return guard([&] { self(t)->save(std::string(from_view(directory))); });
  }

  static constexpr lmf_tokenizer_vtable vtable{sizeof(lmf_tokenizer_vtable),
                                               &vocab_size,
                                               &encode,
                                               &decode,
                                               &token_to_id,
                                               &id_to_token,
                                               &train,
                                               &save};
};

}  // namespace lmf::sdk
