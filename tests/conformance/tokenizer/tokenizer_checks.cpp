#include "tests/conformance/tokenizer/tokenizer_checks.h"

#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "core/plugin/status.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

namespace lmf::conformance::tokenizer {
namespace {

using nlohmann::json;
using plugin::ComponentInstance;

// What a call returned: the status, taken over and released.
struct Outcome {
  bool ok = true;
  lmf_status_code code = LMF_OK;
  std::string message;

  std::string text() const {
    if (ok) return "success";
    return std::string(plugin::status_code_name(code)) + " (" + std::to_string(code) + "): \"" +
           message + "\"";
  }
};

Outcome take(lmf_status_t* status) {
  if (status == nullptr) return {};
  const lmf_host_api* api = plugin::host_api();
  const char* message = api->status_message(status);
  Outcome outcome{false, api->status_code(status), message == nullptr ? "" : message};
  api->status_release(status);
  return outcome;
}

std::string show(std::string_view text, size_t limit = 80) {
  std::string out =
      json(std::string(text.substr(0, limit))).dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > limit) out += "...(" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string show_ids(const std::vector<int32_t>& ids, size_t from, size_t count = 8) {
  std::string out = "[";
  const size_t end = std::min(ids.size(), from + count);
  if (from > 0) out += "... ";
  for (size_t i = from; i < end; ++i) out += (i > from ? ", " : "") + std::to_string(ids[i]);
  if (end < ids.size()) out += ", ...";
  return out + "]";
}

// Where two id lists part, as a sentence.
std::string id_difference(const std::vector<int32_t>& expected, const std::vector<int32_t>& got) {
  size_t at = 0;
  while (at < expected.size() && at < got.size() && expected[at] == got[at]) ++at;
  const size_t from = at >= 3 ? at - 3 : 0;
  return "first difference at index " + std::to_string(at) + " of " +
         std::to_string(expected.size()) + " expected ids (got " + std::to_string(got.size()) +
         "): expected " + show_ids(expected, from) + ", got " + show_ids(got, from);
}

// An instance made as the host makes it, and its vtable calls.
class Session {
 public:
  Session(const plugin::ComponentRef& ref, const json& config_in, Failures& failures) {
    json schema = json::parse(ref.schema(), nullptr, false);
    json config = config_in;
    for (const config::ValidationIssue& issue : config::validate(schema, config))
      failures.push_back("the config schema refuses " + config_in.dump() + ": " +
                         (issue.pointer.empty() ? "" : issue.pointer + ": ") + issue.message);
    if (!failures.empty()) return;
    try {
      instance_ = std::make_unique<ComponentInstance>(ref, config);
      vtable_ = &instance_->vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
    } catch (const std::exception& e) {
      failures.push_back("create with " + config.dump() + " failed: " + e.what());
    }
  }
  bool ready() const { return vtable_ != nullptr; }

  // Encodes `texts` in one call; nullopt (with `outcome` set) on failure.
  std::optional<std::vector<std::vector<int32_t>>> encode(
      const std::vector<std::string_view>& texts, uint32_t flags, Outcome& outcome) const {
    std::vector<lmf_str_view> views;
    views.reserve(texts.size());
    for (std::string_view text : texts) views.push_back({text.data(), text.size()});
    lmf_token_batch batch{nullptr, nullptr, 0};
    outcome = take(vtable_->encode(instance_->get(), views.data(), views.size(), flags, &batch));
    if (!outcome.ok) return std::nullopt;
    std::vector<std::vector<int32_t>> out(texts.size());
    const lmf_host_api* api = plugin::host_api();
    if (batch.count != texts.size() || batch.offsets == nullptr) {
      outcome = {false, LMF_ERR_INTERNAL,
                 "encode returned " + std::to_string(batch.count) + " sequences for " +
                     std::to_string(texts.size()) + " texts"};
    } else {
      for (size_t i = 0; i < texts.size(); ++i)
        out[i].assign(batch.ids + batch.offsets[i], batch.ids + batch.offsets[i + 1]);
    }
    api->free(batch.ids);
    api->free(batch.offsets);
    if (!outcome.ok) return std::nullopt;
    return out;
  }
  std::optional<std::vector<int32_t>> encode_one(std::string_view text, uint32_t flags,
                                                 Outcome& outcome) const {
    auto out = encode({text}, flags, outcome);
    if (!out) return std::nullopt;
    return std::move((*out)[0]);
  }
  std::optional<std::string> decode(const std::vector<int32_t>& ids, uint32_t flags,
                                    Outcome& outcome) const {
    lmf_string text{nullptr, 0};
    outcome = take(vtable_->decode(instance_->get(), ids.data(), ids.size(), flags, &text));
    if (!outcome.ok) return std::nullopt;
    std::string out(text.data == nullptr ? "" : std::string(text.data, text.size));
    plugin::host_api()->free(text.data);
    return out;
  }
  uint32_t vocab_size() const { return vtable_->vocab_size(instance_->get()); }
  Outcome token_to_id(std::string_view token, int32_t& id) const {
    return take(vtable_->token_to_id(instance_->get(), {token.data(), token.size()}, &id));
  }
  Outcome id_to_token(int32_t id, std::string& token) const {
    lmf_string text{nullptr, 0};
    Outcome outcome = take(vtable_->id_to_token(instance_->get(), id, &text));
    if (outcome.ok) {
      token.assign(text.data == nullptr ? "" : std::string(text.data, text.size));
      plugin::host_api()->free(text.data);
    }
    return outcome;
  }

 private:
  std::unique_ptr<ComponentInstance> instance_;
  const lmf_tokenizer_vtable* vtable_ = nullptr;
};

const char* flag_name(uint32_t flags) {
  return (flags & LMF_TOKENIZE_ADD_SPECIAL) ? "ADD_SPECIAL" : "no flags";
}

// The expected ids of a case for `flags`, compared with `got`; appends a failure.
void compare_ids(const ExpectedCase& c, uint32_t flags, const std::vector<int32_t>& got,
                 const std::string& text, Failures& failures, const std::string& context) {
  const bool special = (flags & LMF_TOKENIZE_ADD_SPECIAL) != 0;
  const std::string where = context + "encode(\"" + c.name + "\", " + flag_name(flags) + ")";
  if (!c.hashed) {
    const std::vector<int32_t>& expected = special ? c.ids_with_special : c.ids;
    if (got != expected)
      failures.push_back(where + " of " + show(text) + ": " + id_difference(expected, got));
    return;
  }
  const size_t count = special ? c.ids_with_special_count : c.ids_count;
  const std::string& hash = special ? c.ids_with_special_hash : c.ids_hash;
  if (got.size() != count || fnv1a64(got) != hash)
    failures.push_back(where + " of " + std::to_string(text.size()) + " bytes: expected " +
                       std::to_string(count) + " ids with FNV-1a " + hash + ", got " +
                       std::to_string(got.size()) + " ids with FNV-1a " + fnv1a64(got));
}

const ExpectedCase* case_named(const Subject& subject, const std::string& name) {
  for (const ExpectedCase& c : subject.expected.cases)
    if (c.name == name) return &c;
  return nullptr;
}

// Every corpus text has its expected case (and the other way round).
bool cases_match_corpus(const Subject& subject, Failures& failures) {
  const size_t before = failures.size();
  for (const CorpusText& text : subject.corpus)
    if (case_named(subject, text.name) == nullptr)
      failures.push_back("the corpus text \"" + text.name +
                         "\" has no expected case: regenerate the expected files "
                         "(tests/fixtures/tokenizers/generate_expected.mjs)");
  if (subject.corpus.size() != subject.expected.cases.size())
    failures.push_back("the corpus has " + std::to_string(subject.corpus.size()) +
                       " texts but the expected file " +
                       std::to_string(subject.expected.cases.size()) +
                       " cases: regenerate the expected files");
  return failures.size() == before;
}

}  // namespace

Failures check_encode(const Subject& subject) {
  Failures failures;
  Session session(subject.component, subject.config, failures);
  if (!session.ready() || !cases_match_corpus(subject, failures)) return failures;
  for (const uint32_t flags : {0u, LMF_TOKENIZE_ADD_SPECIAL}) {
    for (const CorpusText& text : subject.corpus) {
      Outcome outcome;
      const auto ids = session.encode_one(text.bytes, flags, outcome);
      if (!ids) {
        failures.push_back("encode(\"" + text.name + "\", " + flag_name(flags) +
                           ") failed: " + outcome.text());
        continue;
      }
      compare_ids(*case_named(subject, text.name), flags, *ids, text.bytes, failures, "");
    }
  }
  return failures;
}

Failures check_decode(const Subject& subject) {
  Failures failures;
  Session session(subject.component, subject.config, failures);
  if (!session.ready() || !cases_match_corpus(subject, failures)) return failures;
  for (const CorpusText& text : subject.corpus) {
    const ExpectedCase& c = *case_named(subject, text.name);
    std::vector<int32_t> ids = c.ids_with_special;
    if (c.hashed) {
      // The ids are only known as a hash: decode what encode gave, if it is right.
      Outcome outcome;
      const auto encoded = session.encode_one(text.bytes, LMF_TOKENIZE_ADD_SPECIAL, outcome);
      if (!encoded || fnv1a64(*encoded) != c.ids_with_special_hash) continue;  // check_encode says
      ids = *encoded;
    }
    for (const uint32_t flags : {0u, LMF_TOKENIZE_SKIP_SPECIAL}) {
      const bool skip = flags != 0;
      const std::string where =
          "decode(ids of \"" + c.name + "\", " + (skip ? "SKIP_SPECIAL" : "no flags") + ")";
      Outcome outcome;
      const auto got = session.decode(ids, flags, outcome);
      if (!got) {
        failures.push_back(where + " failed: " + outcome.text());
        continue;
      }
      if (!c.hashed) {
        const std::string& expected = skip ? c.decode_skip_special : c.decode;
        if (*got != expected)
          failures.push_back(where + ": expected " + show(expected, 200) + ", got " +
                             show(*got, 200));
      } else {
        const size_t bytes = skip ? c.decode_skip_special_bytes : c.decode_bytes;
        const std::string& hash = skip ? c.decode_skip_special_hash : c.decode_hash;
        if (got->size() != bytes || fnv1a64(*got) != hash)
          failures.push_back(where + ": expected " + std::to_string(bytes) + " bytes with FNV-1a " +
                             hash + ", got " + std::to_string(got->size()) + " bytes with FNV-1a " +
                             fnv1a64(*got));
      }
    }
  }
  return failures;
}

Failures check_vocabulary(const Subject& subject) {
  Failures failures;
  Session session(subject.component, subject.config, failures);
  if (!session.ready()) return failures;
  if (session.vocab_size() != subject.expected.vocab_size)
    failures.push_back("vocab_size(): expected " + std::to_string(subject.expected.vocab_size) +
                       ", got " + std::to_string(session.vocab_size()));
  for (const ExpectedToken& token : subject.expected.tokens) {
    int32_t id = -1;
    Outcome outcome = session.token_to_id(token.token, id);
    if (!outcome.ok)
      failures.push_back("token_to_id(" + show(token.token) + ") failed: " + outcome.text());
    else if (id != token.id)
      failures.push_back("token_to_id(" + show(token.token) + "): expected " +
                         std::to_string(token.id) + ", got " + std::to_string(id));
    std::string text;
    outcome = session.id_to_token(token.id, text);
    if (!outcome.ok)
      failures.push_back("id_to_token(" + std::to_string(token.id) + ") failed: " + outcome.text());
    else if (text != token.token)
      failures.push_back("id_to_token(" + std::to_string(token.id) + "): expected " +
                         show(token.token) + ", got " + show(text));
  }
  int32_t id = -1;
  const std::string unknown = "\xE2\x9F\xA6no such token in any vocabulary\xE2\x9F\xA7";
  if (Outcome outcome = session.token_to_id(unknown, id);
      outcome.ok || outcome.code != LMF_ERR_NOT_FOUND)
    failures.push_back("token_to_id of an unknown token: expected NOT_FOUND, got " +
                       outcome.text());
  std::string text;
  const auto beyond = static_cast<int32_t>(std::max<uint32_t>(subject.expected.vocab_size, 1) * 4);
  if (Outcome outcome = session.id_to_token(beyond, text);
      outcome.ok || outcome.code != LMF_ERR_NOT_FOUND)
    failures.push_back("id_to_token(" + std::to_string(beyond) + "): expected NOT_FOUND, got " +
                       outcome.text());
  return failures;
}

Failures check_batch_encode(const Subject& subject) {
  Failures failures;
  Session session(subject.component, subject.config, failures);
  if (!session.ready()) return failures;
  std::vector<std::string_view> texts;
  for (const CorpusText& text : subject.corpus) texts.push_back(text.bytes);
  for (const uint32_t flags : {0u, LMF_TOKENIZE_ADD_SPECIAL}) {
    Outcome outcome;
    const auto batch = session.encode(texts, flags, outcome);
    if (!batch) {
      failures.push_back("encode of the whole corpus in one call (" +
                         std::string(flag_name(flags)) + ") failed: " + outcome.text());
      continue;
    }
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto one = session.encode_one(texts[i], flags, outcome);
      if (one && *one != (*batch)[i])
        failures.push_back("encode(\"" + subject.corpus[i].name + "\", " + flag_name(flags) +
                           ") in a batch differs from alone: " + id_difference(*one, (*batch)[i]));
    }
  }
  return failures;
}

Failures check_concurrent_encode(const Subject& subject, int threads) {
  Failures failures;
  Session session(subject.component, subject.config, failures);
  if (!session.ready() || !cases_match_corpus(subject, failures)) return failures;
  std::vector<Failures> found(static_cast<size_t>(threads));
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      // Each thread walks the corpus from a different place, twice (so caches are warm
      // the second time), alternating the flags.
      const size_t n = subject.corpus.size();
      for (size_t k = 0; k < 2 * n; ++k) {
        const CorpusText& text = subject.corpus[(k + static_cast<size_t>(t) * 7) % n];
        const uint32_t flags = (k + static_cast<size_t>(t)) % 2 ? LMF_TOKENIZE_ADD_SPECIAL : 0u;
        Outcome outcome;
        const auto ids = session.encode_one(text.bytes, flags, outcome);
        Failures& mine = found[static_cast<size_t>(t)];
        if (!ids) {
          mine.push_back("thread " + std::to_string(t) + ": encode(\"" + text.name +
                         "\") failed: " + outcome.text());
          continue;
        }
        compare_ids(*case_named(subject, text.name), flags, *ids, text.bytes, mine,
                    "thread " + std::to_string(t) + ": ");
      }
    });
  }
  go = true;
  for (std::thread& worker : workers) worker.join();
  for (const Failures& mine : found) failures.insert(failures.end(), mine.begin(), mine.end());
  return failures;
}

Failures check_create_fails(const plugin::ComponentRef& component, const json& config_in,
                            lmf_status_code code, const std::vector<std::string>& mentions) {
  Failures failures;
  json schema = json::parse(component.schema(), nullptr, false);
  json config = config_in;
  for (const config::ValidationIssue& issue : config::validate(schema, config))
    failures.push_back("the config schema refuses " + config_in.dump() + ": " + issue.message);
  if (!failures.empty()) return failures;
  try {
    ComponentInstance instance(component, config);
    failures.push_back("create with " + config.dump() + " succeeded; expected " +
                       plugin::status_code_name(code));
  } catch (const plugin::PluginError& e) {
    if (e.code() != code)
      failures.push_back("create with " + config.dump() + ": expected " +
                         plugin::status_code_name(code) + ", got " +
                         plugin::status_code_name(e.code()) + ": " + e.what());
    for (const std::string& mention : mentions)
      if (std::string(e.what()).find(mention) == std::string::npos)
        failures.push_back("create with " + config.dump() + ": the message \"" + e.what() +
                           "\" does not mention \"" + mention + "\"");
  }
  return failures;
}

}  // namespace lmf::conformance::tokenizer
