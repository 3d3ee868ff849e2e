#include "train_tokenizer.h"

#include "word_counter.h"

#include <lmf/sdk/host.h>

#include <memory>
#include <thread>

namespace lmf::tokenizers::hf {
namespace {

// Texts are counted in batches of about this many bytes, between which the host's
// cancellation is checked.
constexpr size_t kBatchBytes = size_t{8} << 20;
constexpr size_t kBatchTexts = 16384;

// The host's progress display and cancellation flag, through the SDK.
class HostMonitor final : public TrainingMonitor {
 public:
  void begin(std::string_view label, int64_t total, std::string_view unit) override {
    progress_ = std::make_unique<lmf::sdk::Progress>(label, total, unit);
  }
  void advance(int64_t delta) override {
    if (progress_ && delta > 0) progress_->advance(delta);
  }
  void end() override { progress_.reset(); }
  bool cancelled() override { return lmf::sdk::cancelled(); }

 private:
  std::unique_ptr<lmf::sdk::Progress> progress_;
};

WordCounts count_words(lmf::sdk::TextStream& corpus, size_t threads, TrainingMonitor& monitor,
                       uint64_t& texts) {
  WordCounter counter(threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : threads);
  monitor.begin("tokenizer train: counting words", -1, "texts");
  std::vector<std::string> batch;
  size_t batch_bytes = 0;
  auto flush = [&] {
    counter.add(batch);
    monitor.advance(static_cast<int64_t>(batch.size()));
    batch.clear();
    batch_bytes = 0;
    if (monitor.cancelled())
      lmf::sdk::fail(LMF_ERR_CANCELLED, "tokenizer training cancelled while counting words (" +
                                            std::to_string(counter.texts()) + " texts read)");
  };
  while (std::optional<std::string_view> text = corpus.next()) {
    batch.emplace_back(*text);  // the stream's text is only borrowed until the next call
    batch_bytes += text->size();
    if (batch_bytes >= kBatchBytes || batch.size() >= kBatchTexts) flush();
  }
  flush();
  monitor.end();
  texts = counter.texts();
  return counter.take();
}

std::string shortfall(const TrainedBpe& bpe, const BpeTrainerOptions& options) {
  const std::string stopped = "the vocabulary stopped at " + std::to_string(bpe.tokens.size()) +
                              " of the " + std::to_string(options.vocab_size) + " tokens asked: ";
  switch (bpe.stop) {
    case TrainingStop::kVocabularyFull:
      return "";
    case TrainingStop::kMinFrequency:
      return stopped + "no pair left is seen min_frequency (" +
             std::to_string(options.min_frequency) +
             ") times; more text or a lower min_frequency gives more";
    case TrainingStop::kNothingToMerge:
      return stopped + "every word of the corpus is a single token; more text gives more";
  }
  return "";
}

}  // namespace

TrainedTokenizer train_tokenizer(lmf::sdk::TextStream& corpus, const TrainOptions& options) {
  HostMonitor monitor;
  TrainedTokenizer trained;
  const WordCounts words = count_words(corpus, options.threads, monitor, trained.texts);
  trained.words = words.size();
  const TrainedBpe bpe = train_bpe(words, options.bpe, monitor);
  trained.tokens = bpe.tokens.size();
  trained.merges = bpe.merges.size();
  trained.shortfall = shortfall(bpe, options.bpe);
  trained.tokenizer_json = render_tokenizer_json(bpe, options.roles);
  trained.tokenizer_config = render_tokenizer_config(bpe, options.roles);
  return trained;
}

}  // namespace lmf::tokenizers::hf
