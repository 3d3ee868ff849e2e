// The tokenizer conformance suite: every tokenizer plugin must encode and decode the corpus
// as its reference implementation does (tests/fixtures/tokenizers/, docs/tokenizers.md).
//
// Subjects: one per tests/fixtures/tokenizers/<name>.expected.json, which names the
// component ("hf", "sentencepiece"…), the fetched tokenizer files it loads
// (scripts/fetch-test-tokenizers.sh) and the ids and texts expected for every corpus text;
// the sentencepiece subjects are in tests/fixtures/tokenizers/sentencepiece/.
// Components come from the build's plugin folder, or with LMF_CONFORMANCE_PLUGIN=<file.so>
// from that one file (subjects of other components are then skipped).
#include "tests/conformance/tokenizer/tokenizer_checks.h"
#include "tests/conformance/tokenizer/tokenizer_discovery.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace tk = lmf::conformance::tokenizer;
using lmf::conformance::tokenizer::cache_dir;
using lmf::conformance::tokenizer::discovery;
using lmf::conformance::tokenizer::Discovery;
using lmf::conformance::tokenizer::fixtures_dir;
using lmf::conformance::tokenizer::work_dir;
using lmf::plugin::ComponentRef;

struct SubjectFile {
  std::filesystem::path file;
};
void PrintTo(const SubjectFile& subject, std::ostream* out) {
  *out << subject.file.string();
}

std::vector<SubjectFile> subject_files() {
  std::vector<SubjectFile> out;
  for (const std::filesystem::path& file : tk::expected_files(fixtures_dir()))
    out.push_back({file});
  return out;
}

void expect_conforms(const tk::Subject& subject, const tk::Failures& failures) {
  constexpr size_t kShown = 40;
  for (size_t i = 0; i < failures.size() && i < kShown; ++i)
    ADD_FAILURE() << subject.label << ": " << failures[i];
  EXPECT_TRUE(failures.empty()) << subject.label << ": " << failures.size() << " failure(s)"
                                << (failures.size() > kShown ? " (the first 40 shown)" : "")
                                << "; expected values from " << subject.expected.reference;
}

class TokenizerConformance : public ::testing::TestWithParam<SubjectFile> {
 protected:
  // The subject of this test, or a skip/failure saying why there is none.
  std::optional<tk::Subject> subject() {
    tk::Subject subject;
    try {
      subject.expected = tk::read_expected(GetParam().file);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return std::nullopt;
    }
    const Discovery& found = discovery();
    if (!found.problem.empty()) {
      ADD_FAILURE() << found.problem;
      return std::nullopt;
    }
    const std::optional<ComponentRef> component = found.tokenizer(subject.expected.component);
    if (!component) {
      if (found.single_plugin) {
        skip_ = "the plugin under test has no tokenizer \"" + subject.expected.component + "\"";
      } else if (std::string(LMF_TOKENIZERS_NOT_BUILT)
                     .find(" " + subject.expected.component + " ") != std::string::npos) {
        skip_ = "the tokenizer \"" + subject.expected.component +
                "\" is left out of this build (see the CMake output)";
      } else {
        ADD_FAILURE() << "no tokenizer component \"" << subject.expected.component << "\" in "
                      << found.searched << " (build its plugin first)";
      }
      return std::nullopt;
    }
    subject.component = *component;
    try {
      const std::filesystem::path file =
          tk::materialize_tokenizer(subject.expected, cache_dir(), fixtures_dir(), work_dir());
      subject.config = subject.expected.config;
      subject.config["path"] = file.string();
      subject.corpus = tk::read_corpus(fixtures_dir() / subject.expected.corpus);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return std::nullopt;
    }
    subject.label = subject.expected.name + " (tokenizer \"" + subject.expected.component + "\", " +
                    subject.config["path"].get<std::string>() + ")";
    return subject;
  }
  // Runs one check on this test's subject, reporting every failure.
  template <class Check>
  void run_check(Check&& check) {
    const std::optional<tk::Subject> loaded = subject();
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    if (loaded) expect_conforms(*loaded, check(*loaded));
  }

  std::string skip_;
};

TEST_P(TokenizerConformance, EncodesAsTheReference) {
  run_check(tk::check_encode);
}
TEST_P(TokenizerConformance, DecodesAsTheReference) {
  run_check(tk::check_decode);
}
TEST_P(TokenizerConformance, VocabularyAndTokenLookups) {
  run_check(tk::check_vocabulary);
}
TEST_P(TokenizerConformance, BatchEncodeEqualsOneByOne) {
  run_check(tk::check_batch_encode);
}
TEST_P(TokenizerConformance, ConcurrentEncodeGivesTheSameIds) {
  run_check([](const tk::Subject& subject) { return tk::check_concurrent_encode(subject, 4); });
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, TokenizerConformance, ::testing::ValuesIn(subject_files()),
                         [](const ::testing::TestParamInfo<SubjectFile>& param_info) {
                           std::string name = param_info.param.file.filename().string();
                           name = name.substr(0, name.find(".expected.json"));
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(TokenizerConformance);

TEST(TokenizerDiscovery, FindsSubjectsAndComponents) {
  const Discovery& found = discovery();
  ASSERT_TRUE(found.problem.empty()) << found.problem;
  EXPECT_FALSE(subject_files().empty()) << "no *.expected.json in " << fixtures_dir();
  for (const lmf::plugin::LoadFailure& refused : found.registry.failures())
    std::cout << "note: plugin refused by the loader (not checked here): " << refused.message
              << "\n";
  for (const ComponentRef& ref : found.registry.components())
    if (ref.component->kind == LMF_KIND_TOKENIZER)
      std::cout << "tokenizer \"" << ref.name() << "\" (plugin " << ref.plugin->name() << ", "
                << ref.plugin->file().string() << ")\n";
}

}  // namespace
