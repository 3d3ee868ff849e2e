#include "word_counter.h"

#include "pre_tokenizers.h"
#include "utf8.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <thread>

namespace lmf::tokenizers::hf {
namespace {

// Below this many texts per thread a batch is counted on the calling thread: starting
// threads would cost more than it saves.
constexpr size_t kMinTextsPerThread = 64;

}  // namespace

WordCounter::WordCounter(size_t threads)
    : pattern_(kByteLevelPattern), threads_(std::max<size_t>(threads, 1)) {}

void WordCounter::count(const std::string* first, const std::string* last, WordCounts& into) const {
  const std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data*)> match_data(
      Regex::new_match_data(), pcre2_match_data_free);
  std::string repaired;
  auto add_word = [&](std::string_view word) {
    if (!word.empty()) ++into[std::string(word)];
  };
  for (const std::string* text = first; text != last; ++text) {
    std::string_view valid = *text;
    if (valid_utf8_prefix(valid) != valid.size()) {
      repaired.clear();
      append_replacing_invalid(valid, repaired);
      valid = repaired;
    }
    size_t previous = 0;
    pattern_.for_each_match(valid, match_data.get(), [&](size_t begin, size_t end) {
      add_word(valid.substr(previous, begin - previous));
      add_word(valid.substr(begin, end - begin));
      previous = end;
    });
    add_word(valid.substr(previous));
  }
}

void WordCounter::add(const std::vector<std::string>& texts) {
  texts_ += texts.size();
  const size_t threads = std::min(threads_, texts.size() / kMinTextsPerThread);
  if (threads <= 1) {
    count(texts.data(), texts.data() + texts.size(), counts_);
    return;
  }
  // Contiguous slices, each counted into its own map, then summed: the same counts as
  // one thread's, whatever the split.
  std::vector<WordCounts> partial(threads);
  std::vector<std::exception_ptr> errors(threads);
  std::vector<std::thread> workers;
  const size_t per_thread = (texts.size() + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    const size_t begin = std::min(texts.size(), t * per_thread);
    const size_t end = std::min(texts.size(), begin + per_thread);
    workers.emplace_back([this, &texts, &partial, &errors, t, begin, end] {
      try {
        count(texts.data() + begin, texts.data() + end, partial[t]);
      } catch (...) {
        errors[t] = std::current_exception();  // rethrown on the calling thread
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  for (const std::exception_ptr& error : errors)
    if (error) std::rethrow_exception(error);
  for (WordCounts& counts : partial)
    for (auto& [word, count] : counts) counts_[word] += count;
}

WordCounts WordCounter::take() {
  WordCounts taken;
  taken.swap(counts_);
  texts_ = 0;
  return taken;
}

}  // namespace lmf::tokenizers::hf
