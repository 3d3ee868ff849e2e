// Tests of the hf tokenizer component beyond the conformance checks: what it says about bad
// input (each error names what to fix) and its config options. Run by the same executable
// as the conformance suite (lmf_tokenizer_conformance), skipped when LMF_CONFORMANCE_PLUGIN
// names another plugin.
#include "core/config/schema.h"
#include "core/plugin/component_instance.h"
#include "core/plugin/host_api.h"
#include "tests/conformance/tokenizer/tokenizer_checks.h"
#include "tests/conformance/tokenizer/tokenizer_discovery.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

namespace tk = lmf::conformance::tokenizer;
using lmf::conformance::tokenizer::discovery;
using lmf::conformance::tokenizer::work_dir;
using lmf::plugin::ComponentRef;
using nlohmann::json;

class HfTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::optional<ComponentRef> found = discovery().tokenizer("hf");
    if (!found) {
      if (discovery().single_plugin) GTEST_SKIP() << "the plugin under test has no hf tokenizer";
      FAIL() << "no tokenizer \"hf\" in " << discovery().searched;
    }
    hf_ = *found;
    folder_ = work_dir() / "bad_input";
    std::filesystem::create_directories(folder_);
  }
  std::string write(const std::string& name, const std::string& text) {
    const std::filesystem::path file = folder_ / name;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    return file.string();
  }
  void expect_fails(const json& config, lmf_status_code code,
                    const std::vector<std::string>& mentions) {
    for (const std::string& failure : tk::check_create_fails(hf_, config, code, mentions))
      ADD_FAILURE() << failure;
  }

  ComponentRef hf_;
  std::filesystem::path folder_;
};

TEST_F(HfTokenizer, MissingFileNamesThePath) {
  const std::string missing = (folder_ / "no" / "such" / "tokenizer.json").string();
  expect_fails({{"path", missing}}, LMF_ERR_NOT_FOUND, {missing});
}

TEST_F(HfTokenizer, FolderWithoutTokenizerJsonNamesTheFolder) {
  const std::filesystem::path empty = folder_ / "empty_model_folder";
  std::filesystem::create_directories(empty);
  expect_fails({{"path", empty.string()}}, LMF_ERR_NOT_FOUND, {empty.string(), "tokenizer.json"});
}

TEST_F(HfTokenizer, MalformedJsonNamesTheFileAndWhere) {
  const std::string file = write(
      "malformed.json", "{\n  \"version\": \"1.0\",\n  \"model\": {\"type\": \"BPE\",, }\n}\n");
  expect_fails({{"path", file}}, LMF_ERR_DATA, {file, "malformed JSON", "line 3"});
}

TEST_F(HfTokenizer, UnsupportedModelTypeIsNamed) {
  const std::string file = write("wordpiece.json", R"({"version": "1.0", "added_tokens": [],
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "a": 1}}})");
  expect_fails({{"path", file}}, LMF_ERR_UNSUPPORTED, {file, "model.type", "WordPiece", "BPE"});
}

TEST_F(HfTokenizer, UnsupportedPreTokenizerIsNamed) {
  const std::string file = write("bert_pre.json", R"({"version": "1.0",
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "BertPreTokenizer"}]},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})");
  expect_fails({{"path", file}}, LMF_ERR_UNSUPPORTED,
               {file, "pre_tokenizer.pretokenizers[0].type", "BertPreTokenizer"});
}

TEST_F(HfTokenizer, WrongFieldTypeNamesTheField) {
  const std::string file = write("bad_merge.json", R"({"version": "1.0",
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", 7]}})");
  expect_fails({{"path", file}}, LMF_ERR_DATA, {file, "model.merges[1]"});
  const std::string unknown = write("unknown_merge.json", R"({"version": "1.0",
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "c"]]}})");
  expect_fails({{"path", unknown}}, LMF_ERR_DATA, {unknown, "model.merges[0]", "\"c\""});
}

TEST_F(HfTokenizer, StrictUtf8RefusesInvalidTextWithItsOffset) {
  const std::string file = write("tiny.json", R"({"version": "1.0",
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})");
  json config = {{"path", file}, {"invalid_utf8", "error"}};
  json schema = json::parse(hf_.schema());
  ASSERT_TRUE(lmf::config::validate(schema, config).empty());
  lmf::plugin::ComponentInstance instance(hf_, config);
  const auto& vtable = instance.vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
  const std::string text =
      "ab\xFF"
      "ab";
  lmf_str_view view{text.data(), text.size()};
  lmf_token_batch batch{nullptr, nullptr, 0};
  lmf_status_t* status = vtable.encode(instance.get(), &view, 1, 0, &batch);
  ASSERT_NE(status, nullptr) << "invalid UTF-8 was accepted with invalid_utf8: error";
  const lmf_host_api* api = lmf::plugin::host_api();
  EXPECT_EQ(api->status_code(status), LMF_ERR_DATA);
  EXPECT_NE(std::string(api->status_message(status)).find("byte offset 2"), std::string::npos)
      << api->status_message(status);
  api->status_release(status);
  EXPECT_EQ(batch.ids, nullptr) << "a failed call must leave its outputs untouched";
}

// An instance made as the host makes it, with one encode helper.
class Instance {
 public:
  Instance(const ComponentRef& ref, json config) {
    json schema = json::parse(ref.schema());
    const auto issues = lmf::config::validate(schema, config);
    if (!issues.empty()) throw std::runtime_error("config refused: " + issues[0].message);
    instance_ = std::make_unique<lmf::plugin::ComponentInstance>(ref, config);
    vtable_ = &instance_->vtable<lmf_tokenizer_vtable>(LMF_KIND_TOKENIZER);
  }
  std::vector<int32_t> encode(const std::string& text, uint32_t flags) const {
    lmf_str_view view{text.data(), text.size()};
    lmf_token_batch batch{nullptr, nullptr, 0};
    lmf::plugin::check_status(vtable_->encode(instance_->get(), &view, 1, flags, &batch), "encode");
    std::vector<int32_t> ids(batch.ids + batch.offsets[0], batch.ids + batch.offsets[1]);
    lmf::plugin::host_api()->free(batch.ids);
    lmf::plugin::host_api()->free(batch.offsets);
    return ids;
  }
  int32_t id_of(const std::string& token) const {
    int32_t id = -1;
    lmf::plugin::check_status(
        vtable_->token_to_id(instance_->get(), {token.data(), token.size()}, &id), "token_to_id");
    return id;
  }

 private:
  std::unique_ptr<lmf::plugin::ComponentInstance> instance_;
  const lmf_tokenizer_vtable* vtable_ = nullptr;
};

// A fetched tokenizer folder, or a skip naming the fetch script.
#define LMF_REQUIRE_FETCHED(name)                                \
  const std::filesystem::path folder = tk::cache_dir() / (name); \
  if (!std::filesystem::exists(folder / "tokenizer.json"))       \
  FAIL() << (folder / "tokenizer.json").string()                 \
         << " is missing: run bash scripts/fetch-test-tokenizers.sh"

TEST_F(HfTokenizer, AFolderIsAModelFolder) {
  LMF_REQUIRE_FETCHED("gpt2");
  Instance tokenizer(hf_, {{"path", folder.string()}});
  EXPECT_EQ(tokenizer.encode("Hello world", 0), (std::vector<int32_t>{15496, 995}));
}

// DeepSeek-V3's tokenizer.json adds no BOS (its post-processor is ByteLevel), but its
// tokenizer_config.json says add_bos_token: true, which transformers applies: the option
// does the same, and bos_token comes from that file unless configured.
TEST_F(HfTokenizer, AddBosTokenAsTransformersDoes) {
  LMF_REQUIRE_FETCHED("deepseek_v3");
  const std::string text = "Hello";
  Instance plain(hf_, {{"path", folder.string()}});
  const std::vector<int32_t> ids = plain.encode(text, 0);
  EXPECT_EQ(plain.encode(text, LMF_TOKENIZE_ADD_SPECIAL), ids) << "tokenizer.json adds nothing";

  Instance with_bos(hf_, {{"path", folder.string()}, {"add_bos_token", true}});
  const int32_t bos = with_bos.id_of(
      "<\xEF\xBD\x9C"
      "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
  std::vector<int32_t> expected{bos};
  expected.insert(expected.end(), ids.begin(), ids.end());
  EXPECT_EQ(with_bos.encode(text, LMF_TOKENIZE_ADD_SPECIAL), expected);
  EXPECT_EQ(with_bos.encode(text, 0), ids) << "without the flag nothing is added";

  Instance with_eos(hf_, {{"path", folder.string()},
                          {"add_bos_token", false},
                          {"add_eos_token", true},
                          {"eos_token",
                           "<\xEF\xBD\x9C"
                           "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"}});
  expected = ids;
  expected.push_back(
      with_eos.id_of("<\xEF\xBD\x9C"
                     "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"));
  EXPECT_EQ(with_eos.encode(text, LMF_TOKENIZE_ADD_SPECIAL), expected);
}

TEST_F(HfTokenizer, AddEosTokenWithoutAnEosTokenNamesWhatIsMissing) {
  // GPT-2's tokenizer.json alone, without the tokenizer_config.json that names its eos.
  LMF_REQUIRE_FETCHED("gpt2");
  const std::filesystem::path bare = folder_ / "bare_gpt2";
  std::filesystem::create_directories(bare);
  std::filesystem::copy_file(folder / "tokenizer.json", bare / "tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::remove(bare / "tokenizer_config.json");
  expect_fails({{"path", bare.string()}, {"add_eos_token", true}}, LMF_ERR_INVALID_ARGUMENT,
               {"add_eos_token", "eos_token", "tokenizer_config.json"});
}

TEST_F(HfTokenizer, InvalidUtf8IsReplacedAsPythonDoes) {
  LMF_REQUIRE_FETCHED("gpt2");
  Instance tokenizer(hf_, {{"path", folder.string()}});
  // "a\xFFb" is what Python's b"a\xffb".decode(errors="replace") makes: "a\uFFFDb".
  EXPECT_EQ(tokenizer.encode("a\xFF"
                             "b",
                             0),
            tokenizer.encode("a\xEF\xBF\xBD"
                             "b",
                             0));
}

}  // namespace
