#include "stages/stage_factory.h"

#include "stages/control_chars.h"
#include "stages/exact_dedup.h"
#include "stages/near_dedup.h"
#include "stages/pii_mask.h"
#include "stages/quality_filter.h"
#include "stages/unicode_normalize.h"
#include "stages/url_strip.h"
#include "stages/whitespace.h"

#include <lmf/sdk/error.h>

namespace lmf::data {

namespace {

using nlohmann::json;

class Options {
 public:
  Options(const json& object, std::size_t index)
      : object_(object), where_("stages/" + std::to_string(index)) {}

  bool flag(const char* key, bool fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) bad(key, "expected true or false");
    return value->get<bool>();
  }
  uint64_t count(const char* key, uint64_t fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_number_unsigned()) bad(key, "expected an integer >= 0");
    return value->get<uint64_t>();
  }
  double number(const char* key, double fallback, double low, double high) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_number()) bad(key, "expected a number");
    const double x = value->get<double>();
    if (!(x >= low && x <= high))
      bad(key, "expected a number from " + json(low).dump() + " to " + json(high).dump());
    return x;
  }
  std::string text(const char* key, const std::string& fallback) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    if (!value->is_string()) bad(key, "expected a string");
    return value->get<std::string>();
  }
  template <class Enum>
  Enum choice(const char* key, Enum fallback,
              std::initializer_list<std::pair<const char*, Enum>> values) const {
    const json* value = find(key);
    if (value == nullptr) return fallback;
    for (const auto& [name, result] : values)
      if (value->is_string() && value->get<std::string>() == name) return result;
    bad(key, "unexpected value " + value->dump());
  }
  [[noreturn]] void bad(const char* key, const std::string& message) const {
    sdk::fail(LMF_ERR_INVALID_ARGUMENT, "config field \"" + where_ + "/" + key + "\": " + message +
                                            ", got " + (find(key) ? find(key)->dump() : "nothing"));
  }

 private:
  const json* find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  const json& object_;
  std::string where_;
};

}  // namespace

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names = {
      "unicode_normalize", "control_chars",  "whitespace",  "url_strip",
      "pii_mask",          "quality_filter", "exact_dedup", "near_dedup"};
  return names;
}

std::unique_ptr<Stage> make_stage(const json& item, std::size_t index) {
  const json object = item.is_string() ? json{{"stage", item}} : item;
  const std::string where = "config field \"stages/" + std::to_string(index) + "\": ";
  if (!object.is_object() || !object.contains("stage") || !object.at("stage").is_string())
    sdk::fail(LMF_ERR_INVALID_ARGUMENT,
              where + "expected a stage name or an object with \"stage\", got " + item.dump());
  const std::string name = object.at("stage").get<std::string>();
  const Options o(object, index);
  if (name == "unicode_normalize")
    return std::make_unique<UnicodeNormalize>(
        o.choice("form", NormalForm::nfc, {{"NFC", NormalForm::nfc}, {"NFKC", NormalForm::nfkc}}));
  if (name == "whitespace") return std::make_unique<Whitespace>(o.flag("keep_newlines", true));
  if (name == "url_strip") return std::make_unique<UrlStrip>(o.text("replacement", ""));
  if (name == "control_chars") {
    JunkOptions junk;
    junk.remove_format = o.flag("remove_format", junk.remove_format);
    junk.remove_private_use = o.flag("remove_private_use", junk.remove_private_use);
    junk.remove_replacement_char = o.flag("remove_replacement_char", junk.remove_replacement_char);
    junk.max_symbol_run = static_cast<int>(o.count("max_symbol_run", 0));
    return std::make_unique<ControlChars>(junk);
  }
  if (name == "quality_filter") {
    QualityOptions q;
    q.min_chars = o.count("min_chars", q.min_chars);
    q.max_chars = o.count("max_chars", q.max_chars);
    q.min_words = o.count("min_words", q.min_words);
    q.max_words = o.count("max_words", q.max_words);
    q.max_symbol_word_ratio = o.number("max_symbol_word_ratio", q.max_symbol_word_ratio, 0, 1e9);
    q.ratio_min_words = o.count("ratio_min_words", q.ratio_min_words);
    q.max_repeated_line_ratio =
        o.number("max_repeated_line_ratio", q.max_repeated_line_ratio, 0, 1);
    return std::make_unique<QualityFilter>(q);
  }
  if (name == "exact_dedup")
    return std::make_unique<ExactDedup>(o.flag("ignore_case", true),
                                        o.flag("ignore_whitespace", true));
  if (name == "near_dedup") {
    NearDedupOptions n;
    n.threshold = o.number("threshold", n.threshold, 0.01, 1.0);
    n.minhash.unit = o.choice("shingle", ShingleUnit::auto_words,
                              {{"auto", ShingleUnit::auto_words},
                               {"char", ShingleUnit::chars},
                               {"word", ShingleUnit::words}});
    n.minhash.shingle_size = o.count("shingle_size", n.minhash.shingle_size);
    n.minhash.num_perm = o.count("num_perm", n.minhash.num_perm);
    n.minhash.seed = o.count("seed", n.minhash.seed);
    n.bands = o.count("bands", 0);
    n.rows = o.count("rows", 0);
    n.verify = o.flag("verify", n.verify);
    if (n.minhash.shingle_size == 0) o.bad("shingle_size", "must be at least 1");
    if (n.minhash.num_perm < 1 || n.minhash.num_perm > 1024)
      o.bad("num_perm", "must be from 1 to 1024");
    if ((n.bands == 0) != (n.rows == 0)) o.bad("bands", "set bands and rows together, or neither");
    if (n.bands * n.rows > n.minhash.num_perm)
      o.bad("bands",
            "bands * rows must be at most num_perm (" + std::to_string(n.minhash.num_perm) + ")");
    return std::make_unique<NearDedup>(n);
  }
  if (name == "pii_mask") {
    PiiOptions p;
    p.email = o.flag("email", p.email);
    p.phone = o.flag("phone", p.phone);
    p.card = o.flag("card", p.card);
    p.cn_id = o.flag("cn_id", p.cn_id);
    p.email_replacement = o.text("email_replacement", p.email_replacement);
    p.phone_replacement = o.text("phone_replacement", p.phone_replacement);
    p.cn_id_mask = o.choice("cn_id_mask", IdMask::partial,
                            {{"partial", IdMask::partial}, {"full", IdMask::full}});
    return std::make_unique<PiiMask>(p);
  }
  std::string known;
  for (const std::string& stage : stage_names()) known += (known.empty() ? "" : ", ") + stage;
  sdk::fail(LMF_ERR_INVALID_ARGUMENT, where + "unknown stage \"" + name + "\"; known: " + known);
}

std::vector<std::unique_ptr<Stage>> make_stages(const json& list) {
  std::vector<std::unique_ptr<Stage>> stages;
  for (std::size_t i = 0; i < list.size(); ++i) stages.push_back(make_stage(list.at(i), i));
  return stages;
}

}  // namespace lmf::data
