#include "decoders.h"

#include "byte_level.h"
#include "utf8.h"

namespace lmf::tokenizers::hf {

void append_byte_level_token(std::string_view token, std::string& bytes) {
  const size_t before = bytes.size();
  if (!ByteLevelAlphabet::get().decode(token, bytes)) {
    bytes.resize(before);
    bytes.append(token);
  }
}

namespace {

class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) append_byte_level_token(token, bytes);
    std::string text;
    append_replacing_invalid(bytes, text);  // String::from_utf8_lossy
    tokens.assign(1, std::move(text));
  }
  bool is_byte_level() const override { return true; }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string pending;  // bytes of consecutive <0xXX> tokens
    size_t pending_count = 0;
    auto flush = [&] {
      if (pending_count == 0) return;
      if (valid_utf8_prefix(pending) == pending.size()) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending_count; ++i) out.emplace_back("\xEF\xBF\xBD");
      }
      pending.clear();
      pending_count = 0;
    };
    for (std::string& token : tokens) {
      if (token.size() == 6 && token.starts_with("<0x") && token.back() == '>' &&
          hex_value(token[3]) >= 0 && hex_value(token[4]) >= 0) {
        pending.push_back(static_cast<char>(hex_value(token[3]) * 16 + hex_value(token[4])));
        ++pending_count;
        continue;
      }
      flush();
      out.push_back(std::move(token));
    }
    flush();
    tokens.swap(out);
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    tokens.assign(1, std::move(joined));
  }
};

// Splits UTF-8 into its characters.
std::vector<std::string_view> characters(std::string_view text) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t start = at;
    at += utf8_length(static_cast<unsigned char>(text[at]));
    out.push_back(text.substr(start, at - start));
  }
  return out;
}

class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (std::string& token : tokens) {
      const std::vector<std::string_view> chars = characters(token);
      size_t start_cut = 0;
      for (size_t i = 0; i < start_ && i < chars.size(); ++i) {
        if (chars[i] != content_) break;
        start_cut = i + 1;
      }
      size_t stop_cut = chars.size();
      for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        const size_t index = chars.size() - i - 1;
        if (chars[index] != content_) break;
        stop_cut = index;
      }
      std::string stripped;
      for (size_t i = start_cut; i < stop_cut; ++i) stripped += chars[i];
      token.swap(stripped);
    }
  }

 private:
  std::string content_;
  size_t start_, stop_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::unique_ptr<Regex> regex, std::string content)
      : regex_(std::move(regex)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    pcre2_match_data* match_data = Regex::new_match_data();
    for (std::string& token : tokens) {
      std::string out;
      size_t copied = 0;
      regex_->for_each_match(token, match_data, [&](size_t begin, size_t end) {
        out.append(token, copied, begin - copied);
        out.append(content_);
        copied = end;
      });
      out.append(token, copied, std::string::npos);
      token.swap(out);
    }
    pcre2_match_data_free(match_data);
  }

 private:
  std::unique_ptr<Regex> regex_;
  std::string content_;
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, PrependScheme scheme)
      : replacement_(std::move(replacement)), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      for (std::string_view c : characters(tokens[i])) {
        if (c != replacement_) {
          out += c;
        } else if (i != 0 || scheme_ == PrependScheme::kNever) {
          out += ' ';
        }
      }
      tokens[i].swap(out);
    }
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
};

class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    if (suffix_.empty()) return;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const std::string_view with = i + 1 == tokens.size() ? "" : " ";
      std::string out;
      size_t copied = 0;
      for (size_t found = tokens[i].find(suffix_); found != std::string::npos;
           found = tokens[i].find(suffix_, copied)) {
        out.append(tokens[i], copied, found - copied);
        out.append(with);
        copied = found + suffix_.size();
      }
      out.append(tokens[i], copied, std::string::npos);
      tokens[i].swap(out);
    }
  }

 private:
  std::string suffix_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> decoders)
      : decoders_(std::move(decoders)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& decoder : decoders_) decoder->decode_chain(tokens);
  }
  bool is_byte_level() const override {
    return decoders_.size() == 1 && decoders_[0]->is_byte_level();
  }

 private:
  std::vector<std::unique_ptr<Decoder>> decoders_;
};

}  // namespace

std::unique_ptr<Decoder> make_byte_level_decoder() {
  return std::make_unique<ByteLevelDecoder>();
}
std::unique_ptr<Decoder> make_byte_fallback_decoder() {
  return std::make_unique<ByteFallbackDecoder>();
}
std::unique_ptr<Decoder> make_fuse_decoder() {
  return std::make_unique<FuseDecoder>();
}
std::unique_ptr<Decoder> make_strip_decoder(std::string content, size_t start, size_t stop) {
  return std::make_unique<StripDecoder>(std::move(content), start, stop);
}
std::unique_ptr<Decoder> make_replace_decoder(std::unique_ptr<Regex> regex, std::string content) {
  return std::make_unique<ReplaceDecoder>(std::move(regex), std::move(content));
}
std::unique_ptr<Decoder> make_metaspace_decoder(std::string replacement, PrependScheme scheme) {
  return std::make_unique<MetaspaceDecoder>(std::move(replacement), scheme);
}
std::unique_ptr<Decoder> make_bpe_decoder(std::string suffix) {
  return std::make_unique<BpeDecoder>(std::move(suffix));
}
std::unique_ptr<Decoder> make_sequence_decoder(std::vector<std::unique_ptr<Decoder>> decoders) {
  return std::make_unique<SequenceDecoder>(std::move(decoders));
}

}  // namespace lmf::tokenizers::hf
