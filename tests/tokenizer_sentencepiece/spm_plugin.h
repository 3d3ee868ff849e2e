// The sentencepiece tokenizer as these tests use it: the component loaded from the plugin
// file, its fixtures, and a Subject of the conformance checks made from expected ids.
#pragma once

#include "core/plugin/registry.h"
#include "tests/conformance/tokenizer/tokenizer_checks.h"
#include "tests/support/recording_services.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace lmf::testing::sentencepiece {

namespace tk = lmf::conformance::tokenizer;

// tests/fixtures/tokenizers (what expected files name paths relative to).
std::filesystem::path tokenizer_fixtures();
// The committed models and expected files: tests/fixtures/tokenizers/sentencepiece.
std::filesystem::path fixtures();
// Where fetch_llama2_model.sh puts Llama-2's model: LMF_TOKENIZER_CACHE, else
// .cache/tokenizers; and that model (it may be missing).
std::filesystem::path tokenizer_cache();
std::filesystem::path llama2_model();

// The "sentencepiece" component of the plugin file this build made.
class SpmPlugin {
 public:
  SpmPlugin();
  const plugin::ComponentRef& component() const { return component_; }

 private:
  RecordingServices services_;
  plugin::PluginRegistry registry_{services_};
  plugin::ComponentRef component_;
};

// A subject whose expected ids are given per corpus text: `ids` for flags 0, and
// `with_special(ids)` for LMF_TOKENIZE_ADD_SPECIAL. For check_encode only (no decode).
template <class WithSpecial>
tk::Subject encode_subject(const plugin::ComponentRef& component, nlohmann::json config,
                           std::vector<tk::CorpusText> corpus,
                           const std::vector<std::vector<int32_t>>& ids,
                           WithSpecial&& with_special) {
  tk::Subject subject;
  subject.label = "sentencepiece " + config.dump();
  subject.component = component;
  subject.config = std::move(config);
  for (size_t i = 0; i < corpus.size(); ++i) {
    tk::ExpectedCase c;
    c.name = corpus[i].name;
    c.ids = ids[i];
    c.ids_with_special = with_special(ids[i]);
    subject.expected.cases.push_back(std::move(c));
  }
  subject.corpus = std::move(corpus);
  return subject;
}

}  // namespace lmf::testing::sentencepiece
