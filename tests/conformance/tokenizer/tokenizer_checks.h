// The tokenizer conformance checks. Each is a function of a Subject, the tuple
// (component, config, corpus, expected), and returns what it found wrong, one sentence
// per failure, so that any tokenizer plugin (hf, sentencepiece, a vendor's) is checked by
// adding an expected file, not code.
//
// Every call goes through the C vtable (lmf_tokenizer_vtable) of an instance created the
// way the host creates it: the config validated against the component's schema, defaults
// filled in.
#pragma once

#include "core/plugin/registry.h"
#include "tests/conformance/tokenizer/tokenizer_fixture.h"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <vector>

namespace lmf::conformance::tokenizer {

using Failures = std::vector<std::string>;

struct Subject {
  std::string label;  // for messages, e.g. "qwen2_5 (hf, .cache/tokenizers/qwen2_5/...)"
  plugin::ComponentRef component;
  nlohmann::json config;
  std::vector<CorpusText> corpus;
  Expected expected;
};

// encode of every corpus text, with flags 0 and LMF_TOKENIZE_ADD_SPECIAL, gives the
// expected ids.
Failures check_encode(const Subject& subject);
// decode(ids_with_special) with flags 0 and LMF_TOKENIZE_SKIP_SPECIAL gives the expected
// text.
Failures check_decode(const Subject& subject);
// vocab_size, token_to_id and id_to_token of the expected tokens (special ones included);
// an unknown token and an unknown id answer LMF_ERR_NOT_FOUND.
Failures check_vocabulary(const Subject& subject);
// One encode call over the whole corpus gives the ids of one call per text.
Failures check_batch_encode(const Subject& subject);
// Encoding from several threads at once on one instance gives the expected ids.
Failures check_concurrent_encode(const Subject& subject, int threads = 4);

// create with `config` fails with `code`, and the message mentions every one of
// `mentions` (a file path, a JSON field, a type name).
Failures check_create_fails(const plugin::ComponentRef& component, const nlohmann::json& config,
                            lmf_status_code code, const std::vector<std::string>& mentions);

}  // namespace lmf::conformance::tokenizer
