// URL stripping (PCRE2, Note [URLs]).
#pragma once

#include "stages/stage.h"
#include "text/regex.h"

#include <string>

namespace lmf::data {

// Note [URLs]
// A URL is "http://", "https://" or "ftp://" followed by URL characters (RFC 3986:
// letters, digits and -._~:/?#[]@!$&'()*+,;=%), or "www." followed by a dotted host and
// URL characters; it must not follow a letter, digit, '@' or '.'. URL characters are ASCII,
// so a URL written straight into Chinese text ("详见https://example.com获取") ends at the
// first Chinese character (the seeds' \S+ would swallow the sentence). Sentence
// punctuation at the end (. , ; : ! ? ' ") is not part of the URL, nor is a closing ')' or
// ']' without its opening one inside the URL.
class UrlStrip final : public TransformStage {
 public:
  explicit UrlStrip(std::string replacement);
  bool transform(std::string& text, Tally& tally) const override;
  nlohmann::json params() const override { return {{"replacement", replacement_}}; }

 private:
  std::string replacement_;
  Regex pattern_;
};

}  // namespace lmf::data
