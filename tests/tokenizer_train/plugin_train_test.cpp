// The hf plugin trained through its C vtable as the host trains it: the instance encodes
// with what it learned, saves Hugging Face files that load again to the same ids, reports
// progress, stops when cancelled, and names what is wrong.
#include "tests/tokenizer_train/hf_instance.h"

#include "tests/support/temp_dir.h"

#include <gtest/gtest.h>

namespace lmf::tokenizer_train_test {
namespace {

using lmf::testing::Contains;
using lmf::testing::TempDir;

// A small corpus: the training fixture's lines.
std::vector<std::string> corpus_lines() {
  return lines_with_endings(kTrainFixtures / "corpus.txt");
}

const json kOptions = {{"vocab_size", 600}, {"add_bos_token", true}};

// Texts to encode, seen in the corpus or not: unseen characters still encode, through the
// 256 byte symbols.
const std::vector<std::string> kTexts = {
    "The interpreter prints an error message and a stack trace.",
    "浮云终日行，游子久不至。",
    "Unseen: Ωμέγα ᚠᚢᚦ \x01\x7F and a <eos> written in the text",
    "  leading and trailing spaces  ",
    "",
};

TEST(HfTrain, TrainedInstanceEncodesDecodesAndKnowsItsSpecialTokens) {
  HfInstance tokenizer;
  TextList texts(corpus_lines());
  const Outcome trained = tokenizer.train(texts, kOptions);
  ASSERT_TRUE(trained.ok()) << trained.message;
  EXPECT_EQ(tokenizer.vocab_size(), 600u);
  EXPECT_EQ(tokenizer.id_of("<bos>"), 0);
  EXPECT_EQ(tokenizer.id_of("<eos>"), 1);
  EXPECT_EQ(tokenizer.id_of("<pad>"), 2);
  EXPECT_EQ(tokenizer.id_of("<unk>"), 3);
  for (const std::string& text : kTexts) {
    const std::vector<int32_t> ids = tokenizer.encode(text, 0);
    EXPECT_EQ(tokenizer.decode(ids, 0), text);
    std::vector<int32_t> with_bos{0};
    with_bos.insert(with_bos.end(), ids.begin(), ids.end());
    EXPECT_EQ(tokenizer.encode(text, LMF_TOKENIZE_ADD_SPECIAL), with_bos) << text;
  }
  // "<eos>" in the text is the special token (id 1), which decode can leave out.
  const std::vector<int32_t> ids = tokenizer.encode("a <eos> b", 0);
  EXPECT_NE(std::find(ids.begin(), ids.end(), 1), ids.end());
  EXPECT_EQ(tokenizer.decode(ids, LMF_TOKENIZE_SKIP_SPECIAL), "a  b");
  // Merges shorten text: far fewer ids than bytes for text like the corpus.
  EXPECT_LT(tokenizer.encode(kTexts[0], 0).size(), kTexts[0].size() / 2);
}

TEST(HfTrain, SavedFilesLoadBackToTheSameIds) {
  HfInstance trained;
  TextList texts(corpus_lines());
  ASSERT_TRUE(trained.train(texts, kOptions).ok());
  TempDir temp;
  const fs::path folder = temp.path() / "new" / "tokenizer";
  const Outcome saved = trained.save(folder);
  ASSERT_TRUE(saved.ok()) << saved.message;

  HfInstance loaded(json{{"path", folder.string()}});
  EXPECT_EQ(loaded.vocab_size(), trained.vocab_size());
  for (const std::string& text : kTexts) {
    EXPECT_EQ(loaded.encode(text, 0), trained.encode(text, 0)) << text;
    EXPECT_EQ(loaded.encode(text, LMF_TOKENIZE_ADD_SPECIAL),
              trained.encode(text, LMF_TOKENIZE_ADD_SPECIAL))
        << text;
  }

  // Saving a loaded tokenizer copies its files.
  const fs::path copy = temp.path() / "copy";
  ASSERT_TRUE(loaded.save(copy).ok());
  EXPECT_EQ(read_file(copy / "tokenizer.json"), read_file(folder / "tokenizer.json"));
  EXPECT_EQ(read_file(copy / "tokenizer_config.json"), read_file(folder / "tokenizer_config.json"));
}

// What Hugging Face needs to find in the files (docs/tokenizers.md, "Training a tokenizer").
TEST(HfTrain, SavedFilesHaveHuggingFacesLayout) {
  HfInstance trained;
  TextList texts(corpus_lines());
  ASSERT_TRUE(trained.train(texts, kOptions).ok());
  TempDir temp;
  ASSERT_TRUE(trained.save(temp.path()).ok());

  const json file = json::parse(read_file(temp.path() / "tokenizer.json"));
  EXPECT_EQ(file["version"], "1.0");
  EXPECT_EQ(file["pre_tokenizer"], json::parse(R"({"type": "ByteLevel", "add_prefix_space": false,
                            "trim_offsets": true, "use_regex": true})"));
  EXPECT_EQ(file["decoder"]["type"], "ByteLevel");
  EXPECT_EQ(file["normalizer"], nullptr);
  ASSERT_EQ(file["added_tokens"].size(), 4u);
  const std::vector<std::string> specials = {"<bos>", "<eos>", "<pad>", "<unk>"};
  for (size_t id = 0; id < 4; ++id) {
    const json& added = file["added_tokens"][id];
    EXPECT_EQ(added["id"], id);
    EXPECT_EQ(added["content"], specials[id]);
    EXPECT_EQ(added["special"], true);
    EXPECT_EQ(added["normalized"], false);
    EXPECT_EQ(file["model"]["vocab"][specials[id]], id);
  }
  EXPECT_EQ(file["post_processor"]["type"], "TemplateProcessing");
  EXPECT_EQ(file["post_processor"]["single"],
            json::parse(R"([{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                            {"Sequence": {"id": "A", "type_id": 0}}])"));
  EXPECT_EQ(file["post_processor"]["special_tokens"]["<bos>"]["ids"], json::array({0}));
  const json& model = file["model"];
  EXPECT_EQ(model["type"], "BPE");
  EXPECT_EQ(model["unk_token"], nullptr);
  EXPECT_EQ(model["vocab"].size(), 600u);
  EXPECT_EQ(model["merges"].size(), 600u - 260u);
  EXPECT_EQ(model["vocab"]["\xC4\xA0"], 4 + 188 + 32) << "the space's symbol Ġ";

  const json config = json::parse(read_file(temp.path() / "tokenizer_config.json"));
  EXPECT_EQ(config["tokenizer_class"], "PreTrainedTokenizerFast");
  EXPECT_EQ(config["bos_token"], "<bos>");
  EXPECT_EQ(config["eos_token"], "<eos>");
  EXPECT_EQ(config["pad_token"], "<pad>");
  EXPECT_EQ(config["unk_token"], "<unk>");
  EXPECT_EQ(config["added_tokens_decoder"]["3"]["content"], "<unk>");
}

// Training an instance loaded from a file replaces everything it knew, the words it had
// already split included.
TEST(HfTrain, TrainingALoadedInstanceReplacesItsVocabulary) {
  HfInstance loaded(json{{"path", (kTrainFixtures / "lmforge_trained").string()}});
  ASSERT_EQ(loaded.vocab_size(), 2000u);
  for (const std::string& text : kTexts) loaded.encode(text, 0);  // fills its word caches
  const json options = {{"vocab_size", 400}, {"special_tokens", {"<s>"}}};
  TextList texts(corpus_lines());
  ASSERT_TRUE(loaded.train(texts, options).ok());
  HfInstance fresh;
  TextList same(corpus_lines());
  ASSERT_TRUE(fresh.train(same, options).ok());
  EXPECT_EQ(loaded.vocab_size(), 400u);
  EXPECT_EQ(loaded.id_of("<s>"), 0);
  EXPECT_FALSE(loaded.id_of("<bos>"));
  for (const std::string& text : kTexts) EXPECT_EQ(loaded.encode(text, 0), fresh.encode(text, 0));
}

TEST(HfTrain, ReportsProgressAndWhatItLearned) {
  testing::RecordingServices& services = loaded_plugin().services;
  const size_t first_task = services.tasks.size();
  HfInstance tokenizer;
  const std::vector<std::string> lines = corpus_lines();
  TextList texts(lines);
  ASSERT_TRUE(tokenizer.train(texts, {{"vocab_size", 500}}).ok());

  ASSERT_EQ(services.tasks.size(), first_task + 2);
  const auto& counting = services.tasks[first_task];
  EXPECT_EQ(counting.label, "tokenizer train: counting words");
  EXPECT_EQ(counting.done, static_cast<int64_t>(lines.size()));
  EXPECT_TRUE(counting.ended);
  const auto& merging = services.tasks[first_task + 1];
  EXPECT_EQ(merging.label, "tokenizer train: merges");
  EXPECT_EQ(merging.total, 500 - 260);
  EXPECT_EQ(merging.done, 500 - 260);
  EXPECT_TRUE(merging.ended);
  EXPECT_TRUE(services.logged("hf tokenizer: trained 500 tokens (240 merges) from "));
}

TEST(HfTrain, WarnsWhenTheCorpusCannotFillTheVocabulary) {
  HfInstance tokenizer;
  TextList texts(corpus_lines());
  ASSERT_TRUE(tokenizer.train(texts, {{"vocab_size", 50000}, {"min_frequency", 3}}).ok());
  const uint32_t size = tokenizer.vocab_size();
  EXPECT_LT(size, 50000u);
  EXPECT_TRUE(loaded_plugin().services.logged(
      "hf tokenizer: the vocabulary stopped at " + std::to_string(size) +
      " of the 50000 tokens asked: no pair left is seen min_frequency (3) times; more text or a "
      "lower min_frequency gives more"));
}

TEST(HfTrain, StopsWhenTheHostCancels) {
  testing::RecordingServices& services = loaded_plugin().services;
  HfInstance tokenizer;
  TextList texts(corpus_lines());
  texts.on_text = [&](size_t i) {
    if (i == 10) services.cancel_flag = true;  // the user presses Ctrl-C while it reads
  };
  const Outcome outcome = tokenizer.train(texts, kOptions);
  services.cancel_flag = false;
  EXPECT_EQ(outcome.code, LMF_ERR_CANCELLED);
  EXPECT_TRUE(Contains(outcome.message, "tokenizer training cancelled while counting words"));
  // Nothing was learned: the instance is as it was.
  EXPECT_EQ(tokenizer.vocab_size(), 0u);
}

TEST(HfTrain, AnInstanceWithoutVocabularySaysSo) {
  HfInstance tokenizer;
  EXPECT_EQ(tokenizer.vocab_size(), 0u);
  const Outcome encoded = tokenizer.try_encode("text");
  EXPECT_EQ(encoded.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(encoded.message,
            "hf tokenizer: no vocabulary yet: give \"path\" (a tokenizer.json) or train it first");
  TempDir temp;
  EXPECT_EQ(tokenizer.save(temp.path()).code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(fs::is_empty(temp.path()));
}

TEST(HfTrain, BadOptionsFailBeforeReadingTheCorpus) {
  HfInstance tokenizer;
  TextList texts(corpus_lines());
  const Outcome outcome = tokenizer.train(texts, {{"vocab_size", 100}});
  EXPECT_EQ(outcome.code, LMF_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(outcome.message,
            "hf tokenizer train: \"vocab_size\": 100 is smaller than the 4 special tokens and the "
            "256 byte symbols it must hold (260)");
  EXPECT_EQ(texts.handed(), 0u);
}

TEST(HfTrain, SavingWhereNoFolderCanBeMadeNamesIt) {
  HfInstance tokenizer;
  TextList texts(corpus_lines());
  ASSERT_TRUE(tokenizer.train(texts, {{"vocab_size", 300}}).ok());
  TempDir temp;
  const fs::path file = temp.path() / "a_file";
  std::ofstream(file) << "not a folder";
  const Outcome outcome = tokenizer.save(file / "tokenizer");
  EXPECT_EQ(outcome.code, LMF_ERR_IO);
  EXPECT_TRUE(Contains(outcome.message,
                       "hf tokenizer: cannot create the folder " + (file / "tokenizer").string()));
}

}  // namespace
}  // namespace lmf::tokenizer_train_test
