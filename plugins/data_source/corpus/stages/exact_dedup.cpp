#include "stages/exact_dedup.h"

#include "text/hash.h"
#include "text/script.h"
#include "text/utf8.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace lmf::data {

std::string dedup_key_text(std::string_view text, bool ignore_case, bool ignore_whitespace) {
  std::string folded(text);
  if (ignore_case) {
    utf8proc_uint8_t* mapped = nullptr;
    const utf8proc_ssize_t size = utf8proc_map(
        reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
        static_cast<utf8proc_ssize_t>(text.size()), &mapped,
        static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD));
    if (size < 0)
      throw std::runtime_error(std::string("case folding failed: ") + utf8proc_errmsg(size));
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(mapped, &std::free);
    folded.assign(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(size));
  }
  if (!ignore_whitespace) return folded;
  std::string out;
  out.reserve(folded.size());
  utf8::for_each(folded, [&](char32_t cp, std::size_t at, std::size_t length) {
    if (!script::is_space(cp)) out.append(folded, at, length);
  });
  return out;
}

bool KeySet::insert(uint64_t key) {
  if (key == 0) key = 1;
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == key) return false;
    if (slots_[i] == 0) {
      slots_[i] = key;
      ++size_;
      return true;
    }
  }
}

void KeySet::grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  const std::size_t mask = slots_.size() - 1;
  for (uint64_t key : old) {
    if (key == 0) continue;
    std::size_t i = mix64(key) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = key;
  }
}

void KeySet::clear() {
  slots_.clear();
  slots_.shrink_to_fit();
  size_ = 0;
}

ExactDedup::ExactDedup(bool ignore_case, bool ignore_whitespace)
    : Stage("exact_dedup", {"duplicate"}),
      ignore_case_(ignore_case),
      ignore_whitespace_(ignore_whitespace) {}

Verdict ExactDedup::process(Record& record, Tally&) const {
  record.key = hash64(dedup_key_text(record.text(), ignore_case_, ignore_whitespace_));
  return Verdict::keep;
}

Verdict ExactDedup::decide(Record& record, Tally& tally) {
  if (seen_.insert(record.key)) return Verdict::keep;
  ++tally.dropped;
  ++tally.reasons[0];
  return Verdict::drop;
}

nlohmann::json ExactDedup::params() const {
  return {{"ignore_case", ignore_case_}, {"ignore_whitespace", ignore_whitespace_}};
}

}  // namespace lmf::data
