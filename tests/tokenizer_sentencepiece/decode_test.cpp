// Decoding ids that encoding never produces: byte pieces that are not valid UTF-8, ids
// outside the vocabulary, special and user-defined pieces where Hugging Face drops or keeps
// a leading space (Note [Decode as Hugging Face]). The expected texts are Hugging Face
// tokenizers' (decode_ids.json, written by generate_expected.mjs).
#include "tests/tokenizer_sentencepiece/spm_plugin.h"

#include <gtest/gtest.h>

#include <fstream>

namespace {

namespace spt = lmf::testing::sentencepiece;
namespace tk = lmf::conformance::tokenizer;
using nlohmann::json;

json decode_ids() {
  std::ifstream in(spt::fixtures() / "decode_ids.json");
  return json::parse(in);
}

class DecodeIds : public ::testing::TestWithParam<std::string> {};

TEST_P(DecodeIds, DecodesAsHuggingFace) {
  const json model = decode_ids().at("models").at(GetParam());
  tk::Subject subject;
  subject.expected.tokenizer = model["subject"].value("tokenizer", json()).is_string()
                                   ? model["subject"]["tokenizer"].get<std::string>()
                                   : "";
  if (model["subject"]["file"].is_string()) subject.expected.file = model["subject"]["file"];
  if (model["subject"]["fixture"].is_string())
    subject.expected.fixture = model["subject"]["fixture"];
  const std::filesystem::path file = tk::materialize_tokenizer(
      subject.expected, spt::tokenizer_cache(), spt::tokenizer_fixtures(), {});
  for (const json& entry : model.at("cases")) {
    tk::ExpectedCase c;
    c.name = entry.at("name").get<std::string>();
    c.ids_with_special = entry.at("ids").get<std::vector<int32_t>>();
    c.decode = entry.at("decode").get<std::string>();
    c.decode_skip_special = entry.at("decode_skip_special").get<std::string>();
    subject.expected.cases.push_back(c);
    subject.corpus.push_back({c.name, ""});  // decode alone: no text is encoded
  }
  ASSERT_GE(subject.expected.cases.size(), 3u);
  spt::SpmPlugin plugin;
  subject.component = plugin.component();
  subject.config = {{"path", file.string()}};
  subject.label = GetParam();
  for (const std::string& failure : tk::check_decode(subject)) ADD_FAILURE() << failure;
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeIds, ::testing::Values("llama2_spm", "tiny_bpe"));

}  // namespace
