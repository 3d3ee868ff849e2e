// Examples and batches: label shifting, the chat layouts the model families were trained
// on (written out by hand from their published templates), the data order and its
// resumption, collation, and shard ranges across documents.
#include "token_shards.h"
#include "trainer/batches.h"
#include "trainer/chat_format.h"
#include "trainer/training_examples.h"
#include "trainer_test_support.h"

#include "tests/support/temp_dir.h"

namespace lmf::torch_backend::testing {
namespace {

using lmf::testing::TempDir;

TEST(ExamplesTest, LabelsPredictTheNextTrainedToken) {
  const std::vector<int64_t> ids = {5, 6, 7, 8, 9};
  EXPECT_EQ(shifted_labels(ids, {true, true, true, true, true}), (std::vector<int64_t>{6, 7, 8, 9, kIgnore}));
  EXPECT_EQ(shifted_labels(ids, {false, false, true, true, false}),
            (std::vector<int64_t>{kIgnore, 7, 8, kIgnore, kIgnore}));
}

TEST(ChatFormatTest, RendersEachFamilysLayoutWithOnlyTheAnswerTrained) {
  const std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "Hi?"}, {"assistant", "Hello."}};
  auto joined = [](const std::vector<ChatSegment>& segments, bool trained) {
    std::string text;
    for (const ChatSegment& s : segments)
      if (s.trained == trained) text += s.text;
    return text;
  };
  auto chatml = render_chat(ChatTemplate::chatml, chat, "", "t");
  EXPECT_EQ(joined(chatml, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(joined(chatml, true), "Hello.<|im_end|>\n");
  auto llama3 = render_chat(ChatTemplate::llama3, chat, "", "t");
  EXPECT_EQ(joined(llama3, false),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(joined(llama3, true), "Hello.<|eot_id|>");
  auto deepseek = render_chat(ChatTemplate::deepseek, chat, "", "t");
  EXPECT_EQ(joined(deepseek, false), "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi?<｜Assistant｜>");
  EXPECT_EQ(joined(deepseek, true), "Hello.<｜end▁of▁sentence｜>");
  auto plain = render_chat(ChatTemplate::plain, {{"user", "Hi?"}, {"assistant", "Hello."}}, "<eos>", "t");
  EXPECT_EQ(joined(plain, false), "Question: Hi?\nAnswer: ");
  EXPECT_EQ(joined(plain, true), "Hello.<eos>\n");
  EXPECT_EQ(render_prompt(ChatTemplate::plain, {{"user", "Hi?"}}), "Question: Hi?\nAnswer: ");
}

TEST(ChatFormatTest, BadRecordsAreNamed) {
  auto error = [](const nlohmann::json& record) {
    try {
      render_chat(ChatTemplate::plain, record_messages(record, "qa.jsonl:7"), "", "qa.jsonl:7");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error({{"prompt", "x"}}).find("qa.jsonl:7: no string field \"response\""), std::string::npos);
  EXPECT_NE(error({{"messages", {{{"role", "user"}, {"content", "x"}}}}}).find("must end with an assistant"),
            std::string::npos);
  EXPECT_NE(error({{"messages", {{{"role", "bot"}, {"content", "x"}}, {{"role", "assistant"}, {"content", "y"}}}}})
                .find("\"bot\""),
            std::string::npos);
}

TEST(ExampleOrderTest, VisitsEveryExampleOncePerEpochAndResumesWhereItWas) {
  ExampleOrder order(10, 42);
  std::vector<int64_t> first = order.take(10);
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_NE(first, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));  // shuffled
  std::vector<int64_t> next = order.take(4);  // into epoch 1, another permutation
  EXPECT_EQ(order.position().epoch, 1);
  ExampleOrder resumed(10, 42);
  resumed.seek(order.position());
  EXPECT_EQ(resumed.take(6), order.take(6));
  EXPECT_THROW(resumed.seek({0, 11}), sdk::Error);
}

TEST(BatchesTest, CollatesRightPaddedWithIgnoredLabels) {
  class Two final : public ExampleSet {
   public:
    int64_t size() const override { return 2; }
    std::vector<Example> at(int64_t i) const override {
      if (i == 0) return {{{1, 2, 3}, {2, 3, kIgnore}}};
      return {{{4, 5}, {5, kIgnore}}};
    }
    int64_t trained_tokens() const override { return 3; }
  } set;
  Batch batch = collate(set, {1, 0}, 0);
  EXPECT_TRUE(torch::equal(batch.ids, torch::tensor(std::vector<int64_t>{4, 5, 0, 1, 2, 3}).view({2, 3})));
  EXPECT_TRUE(torch::equal(batch.labels, torch::tensor(std::vector<int64_t>{5, kIgnore, kIgnore, 2, 3, kIgnore}).view({2, 3})));
  EXPECT_EQ(batch.targets, 3);
}

TEST(TokenShardsTest, RangesSpanDocumentsInOrder) {
  TempDir dir;
  data::Manifest manifest;
  manifest.vocab_size = 100;
  manifest.complete = true;
  std::filesystem::create_directories(dir.path() / "train");
  data::ShardWriter writer(dir.path() / "train", "00000", 100);
  writer.append(std::vector<int32_t>{1, 2, 3}, 0);
  writer.append(std::vector<int32_t>{}, 1);
  writer.append(std::vector<int32_t>{4, 5}, 2);
  writer.append(std::vector<int32_t>{6, 7, 8, 9}, 3);
  manifest.splits["train"].shards.push_back(writer.finish());
  data::write_manifest(dir.path(), manifest);
  TokenShards shards(dir.path().string(), "train");
  EXPECT_EQ(shards.range(2, 5), (std::vector<int64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(shards.range(0, 9), (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(shards.range(5, 4), (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_THROW(shards.range(6, 4), sdk::Error);
}

}  // namespace
}  // namespace lmf::torch_backend::testing
